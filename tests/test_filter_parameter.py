"""n8n's filter parameter: operators per type, case sensitivity, strict/loose types, and/or."""
import pytest

from app.engine.filter_parameter import FilterError, compile_filter, execute_filter


def check(kind, operation, left, right="", *, case_sensitive=True, type_validation="strict", version=1,
          **operator_extra):
    """Evaluate one condition."""
    value = {
        "conditions": [{"leftValue": left, "rightValue": right,
                        "operator": {"type": kind, "operation": operation, **operator_extra}}],
        "combinator": "and",
        "options": {"caseSensitive": case_sensitive, "typeValidation": type_validation, "version": version},
    }
    return execute_filter(value)


@pytest.mark.parametrize("operation,left,right,expected", [
    ("equals", "abc", "abc", True), ("equals", "abc", "abd", False),
    ("notEquals", "abc", "abd", True),
    ("contains", "hello world", "o w", True), ("notContains", "hello", "x", True),
    ("startsWith", "hello", "he", True), ("notStartsWith", "hello", "he", False),
    ("endsWith", "hello", "lo", True), ("notEndsWith", "hello", "lo", False),
    ("empty", "", "", True), ("empty", None, "", True), ("notEmpty", "x", "", True),
    ("regex", "abc123", r"\d+$", True), ("regex", "abc", "/B/i", True), ("notRegex", "abc", "^b", True),
    ("exists", "", "", True), ("notExists", None, "", True),
])
def test_string_operators(operation, left, right, expected):
    assert check("string", operation, left, right) is expected


def test_string_case_insensitivity():
    assert check("string", "equals", "ABC", "abc", case_sensitive=False)
    assert not check("string", "equals", "ABC", "abc")
    assert check("string", "contains", "Hello", "HELL", case_sensitive=False)
    # Regular expressions get the i flag instead of lower-cased text.
    assert check("string", "regex", "ABC", "^abc$", case_sensitive=False)
    assert not check("string", "regex", "ABC", "^abc$")


def test_regex_dollar_matches_only_at_the_very_end_like_javascript():
    assert not check("string", "regex", "abc\n", "abc$")
    assert check("string", "regex", "abc\nx", "/abc$/m")


@pytest.mark.parametrize("operation,left,right,expected", [
    ("equals", 3, 3.0, True), ("notEquals", 3, 4, True),
    ("gt", 5, 3, True), ("gt", 3, 3, False), ("gte", 3, 3, True),
    ("lt", 2, 3, True), ("lte", 3, 3, True), ("lte", 4, 3, False),
    ("gt", None, 3, False), ("lt", None, 3, False),
])
def test_number_operators(operation, left, right, expected):
    assert check("number", operation, left, right) is expected


def test_nan_does_not_exist_and_never_compares():
    nan = float("nan")
    assert check("number", "notExists", nan, singleValue=True)
    assert check("number", "empty", nan, singleValue=True)
    assert check("number", "notEquals", nan, nan)
    assert not check("number", "gte", 15, nan)


@pytest.mark.parametrize("kind", ["number", "dateTime", "boolean", "array", "object", "any"])
def test_exists_and_not_exists_for_every_type(kind):
    present = {"number": 0, "dateTime": "2023-01-01", "boolean": False, "array": [], "object": {}, "any": ""}[kind]
    assert check(kind, "exists", present, singleValue=True)
    assert not check(kind, "notExists", present, singleValue=True)
    assert check(kind, "notExists", None, singleValue=True)


def test_number_empty_operators_from_version_3():
    assert check("number", "empty", None, version=3)
    assert check("number", "empty", "", version=3, type_validation="loose")
    assert check("number", "notEmpty", 0, version=3)


def test_strict_number_rejects_strings_with_n8ns_message():
    with pytest.raises(FilterError) as raised:
        check("number", "gt", "5", 3)
    assert raised.value.message == "Wrong type: '5' is a string but was expecting a number [condition 0, item 0]"
    assert "Enabling 'Convert types where required'" in raised.value.description


def test_strict_type_error_on_the_right_operand():
    with pytest.raises(FilterError) as raised:
        check("number", "gt", 5, "three")
    assert raised.value.message == ("Wrong type: 'three' is a string but was expecting a number "
                                    "[condition 0, item 0]")
    assert "Converting the second field" in raised.value.description


def test_both_operands_of_the_same_wrong_type():
    with pytest.raises(FilterError) as raised:
        check("number", "equals", "a", "b")
    assert raised.value.message == "Comparison type expects a number but both fields are a string"


def test_loose_conversion_and_its_error():
    assert check("number", "equals", "1", 1, type_validation="loose")
    assert check("number", "gt", " 12 ", "3", type_validation="loose")
    with pytest.raises(FilterError) as raised:
        check("number", "gt", "abc", 1, type_validation="loose")
    assert raised.value.message == ("Conversion error: the string 'abc' can't be converted to a number "
                                    "[condition 0, item 0]")
    assert raised.value.description == "Try changing the type of the comparison."


@pytest.mark.parametrize("left,version,expected", [
    (True, 1, True), ("false", 1, True), ("false", 2, False), ("0", 2, False), (1, 2, True),
    ("TRUE", 2, True), ("yes", 2, True), ("", 2, False), (None, 2, False),
])
def test_loose_boolean_true(left, version, expected):
    # Before filter version 2 a loose boolean is JavaScript truthiness: "false" is true.
    assert check("boolean", "true", left, type_validation="loose", version=version, singleValue=True) is expected


def test_boolean_operators():
    assert check("boolean", "false", False, singleValue=True)
    assert check("boolean", "equals", True, True)
    assert check("boolean", "notEquals", True, False)
    with pytest.raises(FilterError, match="Wrong type: 'true' is a string but was expecting a boolean"):
        check("boolean", "true", "true", singleValue=True)


def test_single_value_operators_ignore_an_invalid_right_operand():
    assert check("number", "exists", 5, "not a number", singleValue=True)


@pytest.mark.parametrize("operation,left,right,expected", [
    ("equals", "2023-10-20T16:45:52.367Z", "2023-10-20T18:45:52.367+02:00", True),
    ("notEquals", "2023-10-20", "2023-10-21", True),
    ("after", "2023-10-26T16:45:52.367Z", "2023-10-21", True),
    ("before", "2023-10-20T16:45:52.367Z", "2023-10-21", True),
    ("afterOrEquals", "2023-10-21", "2023-10-21T00:00:00Z", True),
    ("beforeOrEquals", "2023-10-22", "2023-10-21", False),
    ("before", "Tue, 01 Nov 2016 13:23:12 +0630", "2016-11-01 13:00:00", True),
    ("after", "2024-01-01", "1-Feb-2024", False), ("before", "October 26, 2023", "2023/10/27", True),
    ("after", None, "2023-10-21", False),
])
def test_date_time_operators(operation, left, right, expected):
    assert check("dateTime", operation, left, right) is expected


def test_date_time_empty_operators():
    assert check("dateTime", "empty", None, singleValue=True)
    assert check("dateTime", "notEmpty", "2023-01-01", singleValue=True)


def test_date_time_without_offset_uses_the_given_zone():
    value = {"conditions": [{"leftValue": "2023-10-21T01:00:00", "rightValue": "2023-10-21T00:00:00Z",
                             "operator": {"type": "dateTime", "operation": "before"}}],
             "combinator": "and", "options": {"caseSensitive": True, "typeValidation": "strict"}}
    assert not execute_filter(value)
    assert execute_filter(value, zone="Europe/Berlin")


def test_invalid_date_is_a_type_error():
    with pytest.raises(FilterError, match="can't be converted to a dateTime"):
        check("dateTime", "after", "someday", "2023-10-21", type_validation="loose")


@pytest.mark.parametrize("operation,left,right,expected", [
    ("contains", ["exotic", "sweet"], "exotic", True), ("contains", [1, 2], 1, True),
    ("contains", [True], 1, False), ("notContains", ["a"], "b", True),
    ("lengthEquals", [1, 2], 2, True), ("lengthNotEquals", [1, 2], 2, False),
    ("lengthGt", [1, 2], 1, True), ("lengthLt", [1, 2], 1, False),
    ("lengthGte", [1, 2], 2, True), ("lengthLte", [1], 2, True),
    ("empty", [], "", True), ("empty", None, "", True), ("notEmpty", [0], "", True),
])
def test_array_operators(operation, left, right, expected):
    right_type = "number" if operation.startswith("length") else "any"
    assert check("array", operation, left, right, rightType=right_type) is expected


def test_array_contains_ignores_case_on_request():
    assert check("array", "contains", ["Exotic"], "exotic", rightType="any", case_sensitive=False)
    assert not check("array", "contains", ["Exotic"], "exotic", rightType="any")


def test_loose_array_from_json_text_and_strict_rejection():
    assert check("array", "lengthEquals", "[1, 2, 3]", 3, rightType="number", type_validation="loose")
    with pytest.raises(FilterError, match="is a string but was expecting an array"):
        check("array", "lengthEquals", "[1, 2, 3]", 3, rightType="number")


@pytest.mark.parametrize("operation,left,expected", [
    ("empty", {}, True), ("empty", None, True), ("empty", {"a": 1}, False),
    ("notEmpty", {"foo": "bar"}, True), ("notEmpty", {}, False),
])
def test_object_operators(operation, left, expected):
    assert check("object", operation, left, singleValue=True) is expected


def test_loose_object_from_text():
    assert check("object", "notEmpty", '{"a": 1}', singleValue=True, type_validation="loose")
    assert check("object", "notEmpty", "{a: 1}", singleValue=True, type_validation="loose")


def test_unknown_operator_is_false():
    assert check("string", "sounds like", "a", "a") is False
    assert check("any", "equals", "a", "a") is False


def two_conditions(combinator):
    return {"combinator": combinator, "options": {"caseSensitive": True, "typeValidation": "strict"},
            "conditions": [
                {"leftValue": 5, "rightValue": 3, "operator": {"type": "number", "operation": "gt"}},
                {"leftValue": "a", "rightValue": "b", "operator": {"type": "string", "operation": "equals"}}]}


def test_and_or_combinators():
    assert execute_filter(two_conditions("and")) is False
    assert execute_filter(two_conditions("or")) is True
    assert execute_filter(two_conditions("xor")) is False


def test_or_stops_at_the_first_passing_condition():
    value = two_conditions("or")
    value["conditions"][1]["leftValue"] = 7  # would be a type error if it were evaluated
    assert execute_filter(value) is True


def test_compiled_filter_reads_only_operands_per_item():
    raw = {"combinator": "and", "options": {"caseSensitive": True, "typeValidation": "strict", "version": 2},
           "conditions": [{"leftValue": "={{ $json.v }}", "rightValue": 3,
                           "operator": {"type": "number", "operation": "gt"}}]}
    compiled = compile_filter(raw)
    resolved = [{**raw, "conditions": [{**raw["conditions"][0], "leftValue": v}]} for v in (1, 4, 9)]
    assert [compiled.passes(value, i) for i, value in enumerate(resolved)] == [False, True, True]
    with pytest.raises(FilterError, match=r"\[condition 0, item 7\]"):
        compiled.passes({**raw, "conditions": [{**raw["conditions"][0], "leftValue": "x"}]}, 7)


def test_compiled_filter_with_an_expression_operator_compiles_per_item():
    raw = {"combinator": "and", "options": {"caseSensitive": True, "typeValidation": "strict"},
           "conditions": [{"leftValue": 5, "rightValue": 3,
                           "operator": {"type": "number", "operation": "={{ $json.op }}"}}]}
    compiled = compile_filter(raw)

    def with_operation(operation):
        return {**raw, "conditions": [{**raw["conditions"][0],
                                       "operator": {"type": "number", "operation": operation}}]}
    assert compiled.passes(with_operation("gt"), 0) is True
    assert compiled.passes(with_operation("lt"), 1) is False


def test_default_options_apply_only_without_stored_options():
    value = {"combinator": "and", "conditions": [
        {"leftValue": "A", "rightValue": "a", "operator": {"type": "string", "operation": "equals"}}]}
    assert execute_filter(value, default_options={"caseSensitive": False}) is True
    assert execute_filter({**value, "options": {"caseSensitive": True}},
                          default_options={"caseSensitive": False}) is False
