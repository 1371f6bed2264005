// n8n's "data transformation functions" (`'abc'.toTitleCase()`, `[1, 2].sum()`, `$now.format(...)`).
// As in n8n, they are not patched onto prototypes: the expression compiler rewrites a call
// `x.name(args)` whose name is an extension into `extend(x, 'name', [args])`, and `extend` picks the
// function for the value's type, falling back to the value's own method and then to the generic
// isEmpty/isNotEmpty (which accept null and undefined).
function createExtensions({ DateTime, hashes }) {

  class ExpressionExtensionError extends Error {
    constructor(message, description) {
      super(message);
      if (description) this.description = description;
    }
  }
  Object.defineProperty(ExpressionExtensionError.prototype, 'name', { value: 'ExpressionExtensionError' });

  const fail = (message, description) => { throw new ExpressionExtensionError(message, description); };
  const table = (functions) => Object.assign(Object.create(null), functions);
  const isPlainObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

  // Structural equality for unique/union/difference/intersection (lodash's isEqual for JSON data).
  function deepEqual(a, b) {
    if (a === b) return true;
    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
      return Number.isNaN(a) && Number.isNaN(b);
    }
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (a instanceof Date || b instanceof Date) {
      return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
    }
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }

  const uniqueBy = (values, same) => values.filter((v, i) => values.findIndex((w) => same(v, w)) === i);
  const defineField = (target, key, value) => Object.defineProperty(target, key, {
    value, writable: true, enumerable: true, configurable: true,
  });

  // ---------------------------------------------------------------------------------- strings
  // Currency symbols are stripped before number conversion ("$1,000" style input is common).
  const CURRENCY = /(Lek|؋|\$|ƒ|₼|Br|BZ\$|\$b|KM|P|лв|R\$|៛|¥|₡|kn|₱|Kč|kr|RD\$|£|€|¢|Q|L|Ft|₹|Rp|﷼|₪|J\$|₩|₭|ден|RM|₨|₮|MT|C\$|₦|B\/\.|Gs|S\/\.|zł|lei|₽|Дин\.|S|R|CHF|NT\$|฿|TT\$|₺|₴|\$U|Bs|₫|Z\$)/gu;
  const DOMAIN_EXTRACT = /^(?:(?:https?|ftp):\/\/)?(?:mailto:)?(?:\/\/)?((?:www\.)?(?:(?:[-\w]+\.)+(?:[a-zA-Z]{2,}|xn--[a-zA-Z0-9]+)|localhost|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}))(?::\d+)?(?:\/[^\s?]*)?(?:\?[^\s#]*)?(?:#[^\s]*)?$/i;
  const DOMAIN = /^(?:www\.)?((?:(?:[-\w]+\.)+(?:[a-zA-Z]{2,}|xn--[a-zA-Z0-9]+)|localhost|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}))(?::\d+)?(?:\/[^\s?]*)?(?:\?[^\s#]*)?(?:#[^\s]*)?$/i;
  const EMAIL = /(([^<>()[\]\\.,;:\s@"]+(\.[^<>()[\]\\.,;:\s@"]+)*)|(".+"))@(?<domain>(\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}])|(([a-zA-Z\-0-9]+\.)+[a-zA-Z]{2,}))/;
  const URL_EXACT = /^(?:(?:https?|ftp):\/\/)(?:www\.)?((?:(?:[-\w]+\.)+(?:[a-zA-Z]{2,}|xn--[a-zA-Z0-9]+)|localhost|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}))(?::\d+)?(?:\/[^\s?#]*)?(?:\?[^\s#]*)?#?[^\s]*$/i;
  const URL_ANY = /(?:(?:https?|ftp):\/\/)(?:www\.)?((?:(?:[-\w]+\.)+(?:[a-zA-Z]{2,}|xn--[a-zA-Z0-9]+)|localhost|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}))(?::\d+)?(?:\/[^\s?#]*)?(?:\?[^\s#]*)?#?[^\s]*/i;
  const SMALL_WORDS = new Set(['a', 'an', 'and', 'as', 'at', 'but', 'by', 'en', 'for', 'if', 'in', 'nor', 'of',
    'on', 'or', 'per', 'the', 'to', 'v', 'v.', 'vs', 'vs.', 'via']);
  const SPECIAL_LETTERS = { ß: 'ss', æ: 'ae', Æ: 'AE', ø: 'o', Ø: 'O', œ: 'oe', Œ: 'OE', đ: 'd', Đ: 'D', ł: 'l',
    Ł: 'L', þ: 'th', Þ: 'TH', ð: 'd', Ð: 'D', ı: 'i' };

  const isEmail = (v) => EMAIL.test(v) && !v.includes(' ');

  function parseDateTime(value) {
    const text = String(value).trim();
    const parsers = [DateTime.fromISO, DateTime.fromHTTP, DateTime.fromRFC2822, DateTime.fromSQL];
    for (const parse of parsers) {
      const parsed = parse.call(DateTime, text, { setZone: true });
      if (parsed.isValid) return parsed;
    }
    const fallback = DateTime.fromMillis(Date.parse(text));
    if (fallback.isValid) return fallback;
    return fail('cannot convert to Luxon DateTime');
  }

  function titleCase(value) {
    const words = value.split(/(\s+)/);
    const last = words.length - 1;
    return words.map((word, i) => {
      if (i > 0 && i < last && SMALL_WORDS.has(word.toLowerCase())) return word;
      return word.charAt(0).toLocaleUpperCase() + word.slice(1);
    }).join('');
  }

  function sentenceCase(value) {
    let current = value;
    let done = '';
    while (/\p{L}/u.test(current)) {
      const at = current.search(/\p{L}/u);
      current = current.slice(0, at) + current[at].toLocaleUpperCase() + current.slice(at + 1).toLocaleLowerCase();
      const stop = current.search(/[!?.]/);
      if (stop === -1) return done + current;
      done += current.slice(0, stop + 1);
      current = current.slice(stop + 1);
    }
    return done + current;
  }

  const string = table({
    hash(v, [algorithm = 'md5']) {
      const name = String(algorithm).toLowerCase();
      if (name === 'base64') return hashes.base64Encode(v);
      if (typeof hashes[name] === 'function' && name.startsWith('sha') || name === 'md5') return hashes[name](v);
      return fail(`Unknown algorithm ${algorithm}. Available algorithms are: md5,sha1,sha224,sha256,sha384,sha512, and Base64.`);
    },
    removeMarkdown(v) {
      return v.replace(/^([\s\t]*)([*\-+]|\d\.)\s+/gm, '$1')
        .replace(/\n={2,}/g, '\n').replace(/~~/g, '').replace(/`{3}.*\n/g, '')
        .replace(/<[\w|\s|=|'|"|:|(|)|,|;|/|0-9|.|-]+[>|\\>]/g, '')
        .replace(/^[=-]{2,}\s*$/g, '').replace(/\[\^.+?\](: .*?$)?/g, '').replace(/\s{0,2}\[.*?\]: .*?$/g, '')
        .replace(/!\[.*?\][[(].*?[\])]/g, '').replace(/\[(.*?)\][[(].*?[\])]/g, '$1').replace(/>/g, '')
        .replace(/^\s{1,2}\[(.*?)\]: (\S+)( ".*?")?\s*$/g, '').replace(/^#{1,6}\s*([^#]*)\s*(#{1,6})?/gm, '$1')
        .replace(/([*_]{1,3})(\S.*?\S)\1/g, '$2').replace(/(`{3,})(.*?)\1/gm, '$2').replace(/^-{3,}\s*$/g, '')
        .replace(/`(.+?)`/g, '$1').replace(/\n{2,}/g, '\n\n');
    },
    removeTags: (v) => v.replace(/<[^>]*>?/gm, ''),
    toDate(v) {
      const date = new Date(Date.parse(v));
      if (Number.isNaN(date.getTime())) return fail('cannot convert to date');
      if (!/:/.test(v)) date.setHours(0, 0, 0);
      return date;
    },
    toDateTime(v, [format]) {
      if (!format) return parseDateTime(v);
      if (['ms', 's', 'us', 'excel'].includes(format)) return number.toDateTime(Number(v), [format]);
      const parsed = DateTime.fromFormat(v, format);
      return parsed.isValid ? parsed : fail('cannot convert to Luxon DateTime');
    },
    toBoolean: (v) => v.length > 0 && !['false', 'no', '0'].includes(v.toLowerCase()),
    toNumber(v) {
      const n = Number(v.replace(CURRENCY, ''));
      return Number.isNaN(n) ? fail('cannot convert to number') : n;
    },
    toFloat(v) {
      if (v.includes(',')) return fail('cannot convert to float, expected . as decimal separator');
      const n = parseFloat(v.replace(CURRENCY, ''));
      return Number.isNaN(n) ? fail('cannot convert to float') : n;
    },
    toInt(v, [radix]) {
      const n = parseInt(v.replace(CURRENCY, ''), radix);
      return Number.isNaN(n) ? fail('cannot convert to integer') : n;
    },
    toSentenceCase: sentenceCase,
    toSnakeCase: (v) => v.toLocaleLowerCase().replace(/[ -]/g, '_')
      .replace(/[\u2000-\u206F\u2E00-\u2E7F\\'!"#$%&()*+,./:;<=>?@[\]^`{|}~]/g, ''),
    toTitleCase: titleCase,
    capitalize: (v) => v.charAt(0).toLocaleUpperCase() + v.slice(1),
    urlDecode: (v, [whole = false]) => (whole ? decodeURI(v) : decodeURIComponent(v)),
    urlEncode: (v, [whole = false]) => (whole ? encodeURI(v) : encodeURIComponent(v)),
    quote(v, [mark = '"']) {
      const escaped = v.replace(/\\/g, '\\\\').split(mark).join(`\\${mark}`);
      return `${mark}${escaped}${mark}`;
    },
    replaceSpecialChars: (v) => v.normalize('NFD').replace(/[\u0300-\u036f]/g, '')
      .replace(/[^\x00-\x7F]/g, (ch) => SPECIAL_LETTERS[ch] ?? '?'),
    length: (v) => v.length,
    isDomain: (v) => DOMAIN.test(v),
    isEmail,
    isNumeric: (v) => !v.includes(' ') && !Number.isNaN(Number(v)) && !Number.isNaN(parseFloat(v)),
    isUrl: (v) => URL_EXACT.test(v),
    isEmpty: (v) => v === '',
    isNotEmpty: (v) => v !== '',
    isBlank: (v) => v.trim() === '',
    isNotBlank: (v) => v.trim() !== '',
    toJsonString: (v) => JSON.stringify(v),
    extractEmail: (v) => EMAIL.exec(v)?.[0],
    extractDomain(v) {
      if (isEmail(v)) return EMAIL.exec(v)?.groups?.domain;
      return v.match(DOMAIN_EXTRACT)?.[1];
    },
    extractUrl: (v) => URL_ANY.exec(v)?.[0],
    extractUrlPath(v) {
      const match = /^[a-z][a-z\d+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(v);
      return match ? match[1] || '/' : undefined;
    },
    parseJson(v) {
      try {
        return JSON.parse(v);
      } catch {
        return fail(v.includes("'") ? "Parsing failed. Check you're using double quotes" : 'Parsing failed');
      }
    },
    base64Encode: (v) => hashes.base64Encode(v),
    base64Decode: (v) => hashes.base64Decode(v),
  });
  string.toDecimalNumber = string.toFloat;
  string.toWholeNumber = string.toInt;

  // ---------------------------------------------------------------------------------- numbers
  const number = table({
    ceil: (v) => Math.ceil(v),
    floor: (v) => Math.floor(v),
    abs: (v) => Math.abs(v),
    isInteger: (v) => Number.isInteger(v),
    format: (v, [locales = 'en-US', options = {}]) => new Intl.NumberFormat(locales, options).format(v),
    round: (v, [decimals = 0]) => +v.toFixed(decimals),
    isEven: (v) => (Number.isInteger(v) ? v % 2 === 0 : fail('isEven() is only callable on integers')),
    isOdd: (v) => (Number.isInteger(v) ? Math.abs(v) % 2 === 1 : fail('isOdd() is only callable on integers')),
    toBoolean: (v) => v !== 0,
    toInt: (v) => +v.toFixed(0),
    toFloat: (v) => v,
    toDateTime(v, [format = 'ms']) {
      switch (format) {
        case 'ms': return DateTime.fromMillis(v);
        case 's': return DateTime.fromSeconds(v);
        case 'us': return DateTime.fromMillis(v / 1000);
        // Excel counts days from 1900 and wrongly treats 1900 as a leap year.
        case 'excel': return DateTime.fromSeconds((v - 25569) * 86400);
        default:
          return fail(`Unsupported format '${String(format)}'. toDateTime() supports 'ms', 's', 'us' and 'excel'.`);
      }
    },
  });

  // ----------------------------------------------------------------------------------- arrays
  const numbersOnly = (values, name) => {
    if (values.some((v) => typeof v !== 'number')) fail(`${name}(): all array elements must be numbers`);
    return values;
  };
  const sum = (values) => numbersOnly(values, 'sum').reduce((total, v) => total + v, 0);
  const unique = (values, fields) => {
    const key = (v) => (fields.length && v && typeof v === 'object'
      ? Object.fromEntries(fields.map((f) => [f, v[f]]))
      : v);
    return uniqueBy(values, (a, b) => deepEqual(key(a), key(b)));
  };
  const arrayArg = (others, name, example) => (Array.isArray(others)
    ? others
    : fail(`${name}(): expected array arg, e.g. .${name}(${example})`));

  function mergeObjects(base, other) {
    if (!other) return base;
    if (typeof other !== 'object') fail('merge(): expected object arg');
    const merged = { ...base };
    for (const [key, value] of Object.entries(other)) {
      if (!(key in merged)) defineField(merged, key, value);
    }
    return merged;
  }

  function compactObject(value) {
    const out = {};
    for (const [key, v] of Object.entries(value)) {
      if (v === null || v === undefined || v === 'nil' || v === '') continue;
      if (typeof v === 'object') {
        if (Object.keys(v).length) defineField(out, key, compactObject(v));
      } else {
        defineField(out, key, v);
      }
    }
    return out;
  }

  const array = table({
    first: (v) => v[0],
    last: (v) => v[v.length - 1],
    isEmpty: (v) => v.length === 0,
    isNotEmpty: (v) => v.length > 0,
    pluck(v, fields) {
      if (!fields.length) return v;
      const out = [];
      for (const entry of v) {
        if (!entry || typeof entry !== 'object') continue;
        const picked = Object.keys(entry).filter((k) => fields.includes(k)).map((k) => entry[k]);
        if (picked.length) out.push(picked.length === 1 ? picked[0] : picked);
      }
      return out;
    },
    randomItem: (v) => (v.length ? v[Math.floor(Math.random() * v.length)] : undefined),
    unique,
    removeDuplicates: unique,
    sum,
    min: (v) => Math.min(...numbersOnly(v, 'min')),
    max: (v) => Math.max(...numbersOnly(v, 'max')),
    average: (v) => (numbersOnly(v, 'average').length ? sum(v) / v.length : 0),
    compact: (v) => v
      .filter((x) => !(x && typeof x === 'object' && Object.keys(x).length === 0)
        && x !== null && x !== undefined && x !== 'nil' && x !== '')
      .map((x) => (typeof x === 'object' && x !== null ? compactObject(x) : x)),
    smartJoin(v, [keyField, valueField]) {
      if (typeof keyField !== 'string' || typeof valueField !== 'string' || !keyField || !valueField) {
        fail('smartJoin(): expected two string args, e.g. .smartJoin("name", "value")');
      }
      const out = {};
      for (const entry of v) {
        if (entry && typeof entry === 'object' && keyField in entry && valueField in entry) {
          defineField(out, entry[keyField], entry[valueField]);
        }
      }
      return out;
    },
    chunk(v, [size]) {
      if (typeof size !== 'number' || size === 0) fail('chunk(): expected non-zero numeric arg, e.g. .chunk(5)');
      const out = [];
      for (let i = 0; i < v.length; i += size) out.push(v.slice(i, i + size));
      return out;
    },
    renameKeys(v, pairs) {
      if (pairs.length === 0 || pairs.length % 2 !== 0) {
        fail('renameKeys(): expected an even amount of args: from1, to1 [, from2, to2, ...]. e.g. .renameKeys("name", "title")');
      }
      return v.map((entry) => {
        if (typeof entry !== 'object' || entry === null) return entry;
        const renamed = { ...entry };
        for (let i = 0; i < pairs.length; i += 2) {
          if (pairs[i] in renamed) {
            defineField(renamed, pairs[i + 1], renamed[pairs[i]]);
            delete renamed[pairs[i]];
          }
        }
        return renamed;
      });
    },
    merge(v, [others]) {
      if (others === undefined) {
        return v.reduce((acc, entry) => (isPlainObject(entry) ? mergeObjects(acc, entry) : acc), {});
      }
      arrayArg(others, 'merge', '[{ id: 1, otherValue: 3 }]');
      let merged = {};
      for (let i = 0; i < Math.max(v.length, others.length); i++) {
        if (v[i] !== undefined && typeof v[i] === 'object' && typeof others[i] === 'object') {
          merged = Object.assign(merged, mergeObjects(v[i], others[i]));
        }
      }
      return merged;
    },
    union(v, [others]) {
      const out = [...v];
      for (const x of arrayArg(others, 'union', '[1, 2, 3, 4]')) {
        if (!out.some((w) => deepEqual(w, x))) out.push(x);
      }
      return unique(out, []);
    },
    difference(v, [others]) {
      arrayArg(others, 'difference', '[1, 2, 3, 4]');
      return unique(v.filter((x) => !others.some((w) => deepEqual(w, x))), []);
    },
    intersection(v, [others]) {
      arrayArg(others, 'intersection', '[1, 2, 3, 4]');
      const shared = [...v.filter((x) => others.some((w) => deepEqual(w, x))),
        ...others.filter((x) => v.some((w) => deepEqual(w, x)))];
      return unique(shared, []);
    },
    append: (v, extra) => v.concat(extra),
    toJsonString: (v) => JSON.stringify(v),
    toInt: () => undefined,
    toFloat: () => undefined,
    toBoolean: () => undefined,
    toDateTime: () => undefined,
  });

  // ---------------------------------------------------------------------------------- objects
  const object = table({
    isEmpty: (v) => Object.keys(v).length === 0,
    isNotEmpty: (v) => Object.keys(v).length > 0,
    keys: (v) => Object.keys(v),
    values: (v) => Object.values(v),
    hasField: (v, [name]) => name in v,
    removeField(v, [name]) {
      if (!(name in v)) return v;
      const copy = { ...v };
      delete copy[name];
      return copy;
    },
    removeFieldsContaining(v, [match]) {
      if (typeof match !== 'string' || match === '') fail('removeFieldsContaining(): expected non-empty string arg');
      return Object.fromEntries(Object.entries(v).filter(([, x]) => !(typeof x === 'string' && x.includes(match))));
    },
    keepFieldsContaining(v, [match]) {
      if (typeof match !== 'string' || match === '') fail('argument of keepFieldsContaining must be a non-empty string');
      return Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string' && x.includes(match)));
    },
    compact: compactObject,
    merge: (v, [other]) => mergeObjects(v, other),
    urlEncode: (v) => Object.entries(v)
      .map(([k, x]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(x))}`.replace(/%20/g, '+'))
      .join('&'),
    toJsonString: (v) => JSON.stringify(v),
    toInt: () => undefined,
    toFloat: () => undefined,
    toBoolean: () => undefined,
    toDateTime: () => undefined,
  });

  // ------------------------------------------------------------------------------------ dates
  const DURATION_UNITS = { day: 'days', month: 'months', year: 'years', week: 'weeks', hour: 'hours',
    minute: 'minutes', second: 'seconds', millisecond: 'milliseconds', ms: 'milliseconds', sec: 'seconds',
    secs: 'seconds', hr: 'hours', hrs: 'hours', min: 'minutes', mins: 'minutes' };
  const DATETIME_UNITS = { days: 'day', months: 'month', years: 'year', hours: 'hour', minutes: 'minute',
    seconds: 'second', milliseconds: 'millisecond', hrs: 'hour', hr: 'hour', mins: 'minute', min: 'minute',
    secs: 'second', sec: 'second', ms: 'millisecond' };
  const DIFF_UNITS = ['milliseconds', 'seconds', 'minutes', 'hours', 'days', 'weeks', 'months', 'quarters', 'years'];

  const isDateTime = (v) => Boolean(v) && DateTime.isDateTime(v);
  const luxonOf = (v) => (isDateTime(v) ? v : DateTime.fromJSDate(v));
  // Operations on a JS Date give a JS Date back, on a DateTime a DateTime (as in n8n).
  const sameKind = (original, result) => (isDateTime(original) ? result : result.toJSDate());
  const asDateTime = (v) => {
    if (typeof v === 'string') {
      const parsed = DateTime.fromJSDate(new Date(v));
      return parsed.isValid ? parsed : undefined;
    }
    if (v instanceof Date) return DateTime.fromJSDate(v);
    return isDateTime(v) ? v : undefined;
  };
  const duration = (args) => {
    if (args.length === 1) return args[0];
    const [amount = 0, unit = 'minutes'] = args;
    return { [DURATION_UNITS[unit] || unit]: amount };
  };

  function diffTo(v, [other, unit = 'days']) {
    const units = (Array.isArray(unit) ? unit : [unit]);
    const wanted = units.length ? units : ['days'];
    const bad = wanted.find((u) => !DIFF_UNITS.includes(u) && !DATETIME_UNITS[u]);
    if (bad) fail(`Unsupported unit '${String(bad)}'. Supported: ${DIFF_UNITS.map((u) => `'${u}'`).join(', ')}.`);
    const otherDate = isDateTime(other) ? other : (typeof other === 'string' ? parseDateTime(other) : DateTime.fromJSDate(other));
    const diff = luxonOf(v).diff(otherDate, wanted);
    return wanted.length > 1 ? diff.toObject() : diff.as(wanted[0]);
  }

  const date = table({
    beginningOf: (v, [unit = 'week']) => sameKind(v, luxonOf(v).startOf(DATETIME_UNITS[unit] || unit)),
    endOfMonth: (v) => sameKind(v, luxonOf(v).endOf('month')),
    extract(v, [part = 'week']) {
      if (part === 'yearDayNumber') return luxonOf(v).ordinal;
      const unit = part === 'week' ? 'weekNumber' : (DATETIME_UNITS[part] || part);
      return luxonOf(v).get(unit);
    },
    format: (v, [format, options = {}]) => luxonOf(v).toFormat(format, { ...options }),
    isBetween(v, args) {
      if (args.length !== 2) fail('isBetween(): expected exactly two args');
      const [a, b] = args.map(asDateTime);
      if (!a || !b) return undefined;
      const self = luxonOf(v);
      return a > b ? b < self && self < a : b > self && self > a;
    },
    isDst: (v) => luxonOf(v).isInDST,
    isInLast(v, [amount = 0, unit = 'minutes']) {
      const now = DateTime.now();
      const self = luxonOf(v);
      return now.minus(duration([amount, unit])) <= self && self <= now;
    },
    isWeekend: (v) => [6, 7].includes(luxonOf(v).weekday),
    minus: (v, args) => sameKind(v, luxonOf(v).minus(duration(args))),
    plus: (v, args) => sameKind(v, luxonOf(v).plus(duration(args))),
    toDateTime: (v) => luxonOf(v),
    diffTo,
    diffToNow: (v, [unit]) => diffTo(v, [DateTime.now(), unit]),
    toInt: (v) => (isDateTime(v) ? v.toMillis() : v.getTime()),
    toFloat: (v) => (isDateTime(v) ? v.toMillis() : v.getTime()),
    toBoolean: () => undefined,
    isEmpty: () => false,
    isNotEmpty: () => true,
  });

  const boolean = table({
    toBoolean: (v) => v,
    toInt: (v) => (v ? 1 : 0),
    toFloat: (v) => (v ? 1 : 0),
    toNumber: (v) => (v ? 1 : 0),
    toDateTime: () => undefined,
  });

  const isEmptyValue = (v) => v === null || v === undefined || !v;
  const generic = table({ isEmpty: isEmptyValue, isNotEmpty: (v) => !isEmptyValue(v) });

  const BY_TYPE = [['Array', array], ['Date', date], ['Number', number], ['Object', object], ['String', string],
    ['Boolean', boolean]];
  const ISO_DATE = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}.\d{3}Z/;
  const isIsoDateString = (v) => typeof v === 'string' && ISO_DATE.test(v)
    && !Number.isNaN(new Date(v).getTime()) && new Date(v).toISOString() === v;
  const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype', '__defineGetter__', '__defineSetter__',
    '__lookupGetter__', '__lookupSetter__']);

  function typeTable(input) {
    if (Array.isArray(input)) return array;
    if (typeof input === 'string') return string;
    if (typeof input === 'number') return number;
    if (isDateTime(input) || input instanceof Date) return date;
    if (input !== null && typeof input === 'object') return object;
    if (typeof input === 'boolean') return boolean;
    return undefined;
  }

  // Returns [receiver, function, isNative] or undefined.
  function find(value, name) {
    if (FORBIDDEN.has(name)) fail(`Cannot access "${name}" via expression extension due to security concerns`);
    let input = value;
    let functions = typeTable(input);
    if (isIsoDateString(input) && name !== 'toDate' && name !== 'toDateTime') {
      input = new Date(input);
      functions = date;
    }
    if (functions && functions[name]) return [input, functions[name], false];
    if (input && typeof input[name] === 'function') return [input, input[name], true];
    return generic[name] ? [input, generic[name], false] : undefined;
  }

  function unknown(value, name) {
    if (value === undefined || value === null) {
      fail(`${name} can't be used on ${String(value)} value`,
        `To ignore this error, add a ? to the variable before this function, e.g. my_var?.${name}`);
    }
    const types = BY_TYPE.filter(([, functions]) => functions[name]).map(([typeName]) => `"${typeName}"`);
    if (!types.length) fail(`Unknown expression function: ${name}`);
    if (types.length === 1) fail(`${name}() is only callable on type ${types[0]}`);
    const last = types.pop();
    return fail(`${name}() is only callable on types ${types.join(', ')}, and ${last}`);
  }

  function extend(value, name, args) {
    const found = find(value, name);
    if (!found) return unknown(value, name);
    const [input, fn, isNative] = found;
    return isNative ? fn.apply(input, args) : fn(input, args);
  }

  function extendOptional(value, name) {
    const found = find(value, name);
    if (!found) return undefined;
    const [input, fn, isNative] = found;
    return isNative ? fn.bind(input) : (...args) => fn(input, args);
  }

  const names = new Set([...BY_TYPE.flatMap(([, functions]) => Object.keys(functions)), ...Object.keys(generic)]);
  return { extend, extendOptional, names, ExpressionExtensionError, tables: BY_TYPE.map(([, t]) => t) };
}
