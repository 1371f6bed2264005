"""n8n's value type validation and conversion (n8n-workflow `TypeValidation`), for JSON values.

n8n converts with JavaScript's rules (`String()`, `Number()`, `JSON.stringify`, `typeof`), so the
`js_*` helpers reproduce those rules on Python's JSON types. `None` stands for both `null` and
`undefined`: after an expression round trip the two cannot be told apart.

`validate_field_type(name, value, type)` is n8n's `validateFieldType`: it returns a `Validation`
(valid, converted value, error message). The filter parameter and the Set node build on it.
"""
import json
import math
import re
from collections import namedtuple
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Validation = namedtuple("Validation", "valid value error")

MAX_SAFE_INTEGER = 2 ** 53 - 1
LUXON_DOCS_URL = "https://moment.github.io/luxon/api-docs/index.html#datetimefromformat"


class ConversionError(ValueError):
    """A value cannot be converted to the requested type."""


# -- JavaScript semantics ------------------------------------------------------------------------
def is_number(value):
    """`typeof value === 'number'` (Python's bool is an int, JavaScript's is not)."""
    kind = type(value)
    return kind is int or kind is float


def js_typeof(value):
    if isinstance(value, bool):
        return "boolean"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def js_number(value):
    """A float as JavaScript would show it in JSON: integral values become ints."""
    if type(value) is float and value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        return int(value)
    return value


def js_number_to_string(value):
    """`Number.prototype.toString()` (ECMAScript's Number::toString, radix 10)."""
    if type(value) is int:
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    exponent += len(digit_tuple) - len(digits)
    k = len(digits)
    n = k + exponent  # value = 0.digits × 10^n
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"


def js_string(value):
    """`String(value)`."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return js_number_to_string(value)
    if isinstance(value, list):
        return ",".join("" if item is None else js_string(item) for item in value)
    return "[object Object]"


# StrWhiteSpaceChar: what `Number()` and `String.prototype.trim()` strip.
_JS_SPACE = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
            "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_DECIMAL_LITERAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)\Z")
_RADIX_LITERAL = {"0x": 16, "0o": 8, "0b": 2}


def js_trim(text):
    return text.strip(_JS_SPACE)


def _string_to_number(text):
    text = js_trim(text)
    if not text:
        return 0
    if text in ("Infinity", "+Infinity"):
        return math.inf
    if text == "-Infinity":
        return -math.inf
    radix = _RADIX_LITERAL.get(text[:2].lower())
    if radix:
        try:
            return int(text[2:], radix) if text[2:].isalnum() else math.nan
        except ValueError:
            return math.nan
    if _DECIMAL_LITERAL.match(text):
        return float(text)
    return math.nan


def js_to_number(value):
    """`Number(value)`: a float (NaN when JavaScript gives NaN), or the int it was given."""
    if isinstance(value, bool):
        return 1 if value else 0
    if is_number(value):
        return value
    if value is None:
        return 0
    if isinstance(value, str):
        return _string_to_number(value)
    if isinstance(value, list):
        return _string_to_number(js_string(value))
    return math.nan


def _is_array_index(key):
    return key.isdigit() and (key == "0" or key[0] != "0") and int(key) < 2 ** 32 - 1


def js_keys(obj):
    """Own keys in JavaScript's order: integer-like keys first, ascending, then insertion order."""
    keys = list(obj)
    indices = [key for key in keys if _is_array_index(key)]
    if not indices:
        return keys
    return sorted(indices, key=int) + [key for key in keys if not _is_array_index(key)]


def json_stringify(value):
    """`JSON.stringify(value)` without indentation (None → "null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if type(value) is int:
        return str(value)
    if type(value) is float:
        return "null" if math.isnan(value) or math.isinf(value) else js_number_to_string(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(json_stringify(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{json_stringify(value[k])}"
                              for k in js_keys(value)) + "}"
    return json.dumps(str(value), ensure_ascii=False)


def _reject_constant(name):
    raise ValueError(f"Unexpected token {name}")


def json_parse(text):
    """`JSON.parse(text)`; raises ValueError."""
    return json.loads(text, parse_float=lambda s: js_number(float(s)), parse_constant=_reject_constant)


# -- JavaScript object literals (n8n's jsonParse with acceptJSObject) ------------------------------
class _JSObjectParser:
    """Reads a JavaScript object literal the way n8n does (esprima, then keeping literals, arrays
    and objects only): any other expression, e.g. `-1` or `undefined`, becomes undefined."""

    _UNDEFINED = object()
    _TOKEN = re.compile(r"""
        (?P<space>\s+|//[^\n]*|/\*.*?\*/)
      | (?P<punct>[{}\[\],:])
      | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<number>0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_$][\w$]*)
      | (?P<other>[-+!~])
    """, re.X | re.S)
    _ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}

    def __init__(self, text):
        self.tokens = self._tokenize(text)
        self.pos = 0

    def _tokenize(self, text):
        tokens, pos = [], 0
        while pos < len(text):
            match = self._TOKEN.match(text, pos)
            if not match:
                raise ValueError(f"Unexpected character at {pos}")
            if match.lastgroup != "space":
                tokens.append((match.lastgroup, match.group()))
            pos = match.end()
        return tokens

    def _next(self):
        if self.pos >= len(self.tokens):
            raise ValueError("Unexpected end of input")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def parse(self):
        if self._peek() != ("punct", "{"):
            raise ValueError("Not an object literal")
        value = self._value()
        if self.pos != len(self.tokens):
            raise ValueError("Unexpected token after the object")
        return value

    def _value(self):
        kind, text = self._next()
        if kind == "punct" and text == "{":
            return self._object()
        if kind == "punct" and text == "[":
            return self._array()
        if kind == "string":
            return self._unquote(text)
        if kind == "number":
            return self._number(text)
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(text, self._UNDEFINED)
        if kind == "other":  # a unary expression: esprima keeps it, n8n turns it into undefined
            self._value()
            return self._UNDEFINED
        raise ValueError(f"Unexpected token {text}")

    def _object(self):
        result = {}
        while self._peek() != ("punct", "}"):
            kind, text = self._next()
            if kind == "string":
                key = self._unquote(text)
            elif kind == "number":
                key = js_string(self._number(text))
            elif kind == "name":
                key = text
            else:
                raise ValueError(f"Unexpected token {text}")
            if self._next() != ("punct", ":"):
                raise ValueError("Expected ':'")
            value = self._value()
            if value is not self._UNDEFINED:
                result[key] = value
            if self._peek() == ("punct", ","):
                self._next()
            elif self._peek() != ("punct", "}"):
                raise ValueError("Expected ',' or '}'")
        self._next()
        return result

    def _array(self):
        result = []
        while self._peek() != ("punct", "]"):
            value = self._value()
            result.append(None if value is self._UNDEFINED else value)
            if self._peek() == ("punct", ","):
                self._next()
            elif self._peek() != ("punct", "]"):
                raise ValueError("Expected ',' or ']'")
        self._next()
        return result

    @staticmethod
    def _number(text):
        radix = _RADIX_LITERAL.get(text[:2].lower())
        return int(text[2:], radix) if radix else js_number(float(text))

    def _unquote(self, text):
        body, out, i = text[1:-1], [], 0
        while i < len(body):
            char = body[i]
            if char != "\\":
                out.append(char)
                i += 1
                continue
            escaped = body[i + 1]
            if escaped == "u":
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
            elif escaped == "x":
                out.append(chr(int(body[i + 2:i + 4], 16)))
                i += 4
            else:
                out.append(self._ESCAPES.get(escaped, escaped))
                i += 2
        return "".join(out)


def json_parse_accepting_js_object(text):
    """n8n's `jsonParse(text, { acceptJSObject: true })`."""
    try:
        return json_parse(text)
    except ValueError as error:
        try:
            return _JSObjectParser(text).parse()
        except (ValueError, IndexError):
            raise error from None


# -- date and time (Luxon's fromISO, fromHTTP, fromRFC2822, fromSQL, then Date.parse) ----------------
_MONTHS = {name: i for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_MONTH_NAMES = r"(?P<month_name>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_FULL_MONTH = (r"(?P<month_name>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|"
               r"aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_ISO_TIME = (r"(?P<hour>\d{2})(?::?(?P<minute>\d{2})(?::?(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,30}))?)?)?"
             r"(?:(?P<z>[Zz])|(?P<off_h>[+-]\d{2})(?::?(?P<off_m>\d{2}))?)?(?:\[(?P<zone>[^\]]+)\])?")
_ISO_DATE = (r"(?:(?P<year>[+-]\d{6}|\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?"
             r"|(?P<b_year>\d{4})(?P<b_month>\d{2})(?P<b_day>\d{2})"
             r"|(?P<w_year>\d{4})-?W(?P<week>\d{2})(?:-?(?P<weekday>\d))?"
             r"|(?P<o_year>\d{4})-?(?P<ordinal>\d{3}))")
_ISO_DATETIME = re.compile(rf"{_ISO_DATE}(?:[Tt]{_ISO_TIME})?\Z")
_ISO_TIME_ONLY = re.compile(rf"[Tt]?{_ISO_TIME}\Z")
_SQL = re.compile(
    r"(?:(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2}))?"
    r"(?:(?(year) )(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,30}))?)?)?"
    r"(?: ?(?:(?P<z>Z)|(?P<off_h>[+-]\d{2})(?::?(?P<off_m>\d{2}))?))?(?: ?(?P<zone>[A-Za-z_]+/[A-Za-z_/]+))?\Z")
_HTTP = (
    re.compile(rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (?P<day>\d{{2}}) {_MONTH_NAMES} (?P<year>\d{{4}}) "
               r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2}) GMT\Z"),
    re.compile(rf"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (?P<day>\d{{2}})-{_MONTH_NAMES}-"
               r"(?P<year>\d{2}) (?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2}) GMT\Z"),
    re.compile(rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) {_MONTH_NAMES} (?P<day> \d|\d{{2}}) "
               r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2}) (?P<year>\d{4})\Z"),
)
_RFC2822 = re.compile(
    rf"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s)?(?P<day>\d{{1,2}})\s{_MONTH_NAMES}\s(?P<year>\d{{2,4}})\s"
    r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?\s"
    r"(?:(?P<obs>UT|GMT|[ECMP][SD]T)|(?P<z>[Zz])|(?P<off_h>[+-]\d{2})(?P<off_m>\d{2}))\Z")
_OBSOLETE_ZONES = {"UT": 0, "GMT": 0, "EDT": -4, "EST": -5, "CDT": -5, "CST": -6,
                   "MDT": -6, "MST": -7, "PDT": -7, "PST": -8}
# Date.parse's most common non-ISO shapes (V8 is more liberal still).
_TIME_TAIL = (r"(?:,?\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
              r"(?:\s*(?P<ampm>[AaPp][Mm]))?)?"
              r"(?:\s*(?:GMT|UTC|Z)?(?P<off_h>[+-]\d{2}):?(?P<off_m>\d{2})?|\s*(?P<z>GMT|UTC|Z))?(?:\s*\([^)]*\))?")
_DATE_PARSE = (
    re.compile(rf"(?P<year>\d{{4}})[/-](?P<month>\d{{1,2}})[/-](?P<day>\d{{1,2}}){_TIME_TAIL}\Z", re.I),
    re.compile(rf"(?P<month>\d{{1,2}})[/-](?P<day>\d{{1,2}})[/-](?P<year>\d{{4}}){_TIME_TAIL}\Z", re.I),
    re.compile(rf"(?:[a-z]+,?\s+)?{_FULL_MONTH}\.?[\s-]+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?[\s-]+(?P<year>\d{{4}})"
               rf"{_TIME_TAIL}\Z", re.I),
    re.compile(rf"(?:[a-z]+,?\s+)?(?P<day>\d{{1,2}})[\s-]+{_FULL_MONTH}\.?,?[\s-]+(?P<year>\d{{4}}){_TIME_TAIL}\Z",
               re.I),
)


@lru_cache(maxsize=64)
def zone_for(name):
    """The tz for a zone name; UTC when the name is empty or unknown."""
    if not name or name in ("UTC", "Etc/UTC"):
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def _offset_zone(groups):
    if groups.get("z"):
        return timezone.utc
    hours = groups.get("off_h")
    if hours:
        sign = -1 if hours[0] == "-" else 1
        return timezone(sign * timedelta(hours=abs(int(hours)), minutes=int(groups.get("off_m") or 0)))
    return None


def _build(groups, zone, year, month, day):
    hour = int(groups.get("hour") or 0)
    minute = int(groups.get("minute") or 0)
    second = int(groups.get("second") or 0)
    micro = int((groups.get("fraction") or "0")[:6].ljust(6, "0"))
    extra = timedelta()
    if hour == 24 and minute == second == micro == 0:
        hour, extra = 0, timedelta(days=1)
    tz = _offset_zone(groups) or (zone_for(groups["zone"]) if groups.get("zone") else zone)
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz) + extra


def _from_iso(text, zone):
    match = _ISO_DATETIME.match(text) or _ISO_TIME_ONLY.match(text)
    if not match:
        return None
    g = match.groupdict()
    if g.get("year"):
        year, month, day = int(g["year"]), int(g["month"] or 1), int(g["day"] or 1)
    elif g.get("b_year"):
        year, month, day = int(g["b_year"]), int(g["b_month"]), int(g["b_day"])
    elif g.get("w_year"):
        found = date.fromisocalendar(int(g["w_year"]), int(g["week"]), int(g["weekday"] or 1))
        year, month, day = found.year, found.month, found.day
    elif g.get("o_year"):
        found = date(int(g["o_year"]), 1, 1) + timedelta(days=int(g["ordinal"]) - 1)
        if found.year != int(g["o_year"]) or int(g["ordinal"]) < 1:
            return None
        year, month, day = found.year, found.month, found.day
    else:
        today = datetime.now(zone).date()
        year, month, day = today.year, today.month, today.day
    return _build(g, zone, year, month, day)


def _from_sql(text, zone):
    match = _SQL.match(text)
    if not match or not (match["year"] or match["hour"]):
        return None
    g = match.groupdict()
    if g["year"]:
        return _build(g, zone, int(g["year"]), int(g["month"]), int(g["day"]))
    today = datetime.now(zone).date()
    return _build(g, zone, today.year, today.month, today.day)


def _untruncate_year(year_text):
    year = int(year_text)
    if len(year_text) > 2:
        return year
    return 1900 + year if year > 60 else 2000 + year


def _from_http(text):
    for pattern in _HTTP:
        match = pattern.match(text)
        if match:
            g = match.groupdict()
            return _build({**g, "z": "Z"}, timezone.utc, _untruncate_year(g["year"]),
                          _MONTHS[g["month_name"].lower()], int(g["day"]))
    return None


def _from_rfc2822(text):
    text = re.sub(r"\s+", " ", re.sub(r"\([^()]*\)", "", text)).strip()
    match = _RFC2822.match(text)
    if not match:
        return None
    g = match.groupdict()
    if g["obs"]:
        g = {**g, "off_h": f"{_OBSOLETE_ZONES[g['obs']]:+03d}", "off_m": "00"}
    return _build(g, timezone.utc, _untruncate_year(g["year"]), _MONTHS[g["month_name"].lower()], int(g["day"]))


def _from_date_parse(text, zone):
    for pattern in _DATE_PARSE:
        match = pattern.match(text)
        if not match:
            continue
        g = match.groupdict()
        month = _MONTHS[g["month_name"][:3].lower()] if g.get("month_name") else int(g["month"])
        hour = int(g["hour"] or 0)
        if g.get("ampm"):
            hour = hour % 12 + (12 if g["ampm"].lower() == "pm" else 0)
        return _build({**g, "hour": hour}, zone, int(g["year"]), month, int(g["day"]))
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _from_http_in_zone(text, _zone):
    return _from_http(text)


def _from_rfc2822_in_zone(text, _zone):
    return _from_rfc2822(text)


# Luxon's order in tryToParseDateTime, then a stand-in for the browser's Date.parse.
_DATE_PARSERS = (_from_iso, _from_http_in_zone, _from_rfc2822_in_zone, _from_sql, _from_date_parse)


def try_to_parse_datetime(value, zone_name=None):
    """n8n's tryToParseDateTime: an aware datetime, or ConversionError. Times without an offset
    are read in `zone_name` (the workflow's time zone; UTC by default)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone_for(zone_name))
    text = js_trim(js_string(value))
    zone = zone_for(zone_name)
    for parse in _DATE_PARSERS:
        try:
            parsed = parse(text, zone)
        except (ValueError, OverflowError):
            parsed = None
        if parsed is not None:
            return parsed
    raise ConversionError("Value is not a valid date")


def epoch_millis(moment):
    return moment.timestamp() * 1000


# -- n8n's tryToParse* ---------------------------------------------------------------------------
def try_to_parse_number(value):
    number = js_to_number(value)
    if type(number) is float and math.isnan(number):
        raise ConversionError("Failed to parse value to number")
    return js_number(number)


def try_to_parse_string(value):
    if isinstance(value, (dict, list)) or value is None:
        return json_stringify(value)
    return js_string(value)


def try_to_parse_boolean(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not (isinstance(value, str) and js_trim(value) == ""):
        number = js_to_number(value)
        if number == 0:
            return False
        if number == 1:
            return True
    raise ConversionError("Failed to parse value as boolean")


def try_to_parse_array(value):
    if isinstance(value, list):
        return value
    text = js_string(value)
    try:
        try:
            parsed = json_parse(text)
        except ValueError:
            parsed = json_parse(text.replace("'", '"'))
    except ValueError:
        raise ConversionError("Value is not a valid array") from None
    if not isinstance(parsed, list):
        raise ConversionError("Value is not a valid array")
    return parsed


def try_to_parse_object(value):
    if isinstance(value, dict):
        return value
    try:
        parsed = json_parse_accepting_js_object(js_string(value))
    except ValueError:
        raise ConversionError("Value is not a valid object") from None
    # JSON.parse("null") is typeof "object" too, so n8n lets it through.
    if parsed is not None and not isinstance(parsed, dict):
        raise ConversionError("Value is not a valid object")
    return parsed


def value_description(value):
    """n8n's getValueDescription, for error messages."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "'null'"
    return f"'{js_string(value)}'"


def _strict_type_ok(kind, value):
    if kind == "number":
        return is_number(value)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "object":
        return isinstance(value, (dict, list))
    if kind == "array":
        return isinstance(value, list)
    return True


_CONVERTERS = {
    "number": try_to_parse_number,
    "boolean": try_to_parse_boolean,
    "object": try_to_parse_object,
    "array": try_to_parse_array,
}


def validate_field_type(field_name, value, field_type, *, strict=False, parse_strings=False, zone=None):
    """n8n's validateFieldType for string, number, boolean, object, array and dateTime; other
    types pass the value through unchanged."""
    if value is None:
        return Validation(True, None, None)
    kind = field_type.lower()
    message = f"'{field_name}' expects a {field_type} but we got {value_description(value)}"
    if kind == "string" and not parse_strings:
        return Validation(True, value, None)
    if strict and not _strict_type_ok(kind, value):
        return Validation(False, None, message)
    try:
        if kind == "string":
            return Validation(True, try_to_parse_string(value), None)
        if kind == "datetime":
            return Validation(True, try_to_parse_datetime(value, zone), None)
        convert = _CONVERTERS.get(kind)
        return Validation(True, convert(value) if convert else value, None)
    except ConversionError:
        if kind == "datetime":
            message += (f' <br/><br/> Consider using <a href="{LUXON_DOCS_URL}" target="_blank">'
                        "<code>DateTime.fromFormat</code></a> to work with custom date formats.")
        return Validation(False, None, message)
