/* test_gql_parse.c - the GraphQL lexer and parser (src/weave/gql_parse.c):
 * the query shapes AO clients send, every literal kind, variables,
 * aliases, fragments, comments and commas, and rejection of malformed
 * text with a located message; limits on size and nesting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weave/gql.h"

static weave_gql_doc *parse_ok(const char *q)
{
    weave_gql_doc *doc = NULL;
    ao_error err = { 0 };
    int rc = weave_gql_parse(q, strlen(q), &doc, &err);
    if (rc != AO_OK)
        fail_msg("parse failed (%d): %s\nquery: %s", rc, err.msg, q);
    assert_non_null(doc);
    return doc;
}

static int parse_err(const char *q, ao_error *err)
{
    weave_gql_doc *doc = (weave_gql_doc *)1;
    int rc = weave_gql_parse(q, strlen(q), &doc, err);
    assert_null(doc);
    assert_int_not_equal(rc, AO_OK);
    return rc;
}

static const weave_gql_argument *arg(const weave_gql_selection *f, const char *name)
{
    for (const weave_gql_argument *a = f->args; a; a = a->next)
        if (!strcmp(a->name, name))
            return a;
    fail_msg("no argument %s", name);
    return NULL;
}

static size_t count_items(const weave_gql_value *v)
{
    size_t n = 0;
    for (const weave_gql_value *i = v->items; i; i = i->next)
        n++;
    return n;
}

/* scheduler-utils' GetSchedulerLocation, with its comment and no commas */
static void parses_named_operation_with_variables(void **state)
{
    (void)state;
    weave_gql_doc *doc = parse_ok(
        "query GetSchedulerLocation ($owner: String!) {\n"
        "  transactions (\n"
        "    owners: [$owner]\n"
        "    tags: [\n"
        "      { name: \"Data-Protocol\", values: [\"ao\"] },\n"
        "      { name: \"Type\", values: [\"Scheduler-Location\"] }\n"
        "    ]\n"
        "    # Only need the most recent Scheduler-Location\n"
        "    sort: HEIGHT_DESC\n"
        "    first: 1\n"
        "  ) { edges { node { tags { name value } } } }\n"
        "}\n");
    const weave_gql_operation *op = doc->ops;
    assert_non_null(op);
    assert_null(op->next);
    assert_int_equal(op->kind, WEAVE_GQL_QUERY);
    assert_string_equal(op->name, "GetSchedulerLocation");
    assert_non_null(op->vars);
    assert_string_equal(op->vars->name, "owner");
    assert_string_equal(op->vars->type, "String!");
    assert_true(op->vars->non_null);
    const weave_gql_selection *t = op->selections;
    assert_string_equal(t->name, "transactions");
    assert_null(t->alias);
    const weave_gql_value *owners = arg(t, "owners")->value;
    assert_int_equal(owners->kind, WEAVE_GQL_LIST);
    assert_int_equal(owners->items->kind, WEAVE_GQL_VARIABLE);
    assert_string_equal(owners->items->str, "owner");
    const weave_gql_value *tags = arg(t, "tags")->value;
    assert_int_equal(count_items(tags), 2);
    const weave_gql_value *t1 = tags->items->next;
    assert_int_equal(t1->kind, WEAVE_GQL_OBJECT);
    assert_string_equal(t1->items->field_name, "name");
    assert_string_equal(t1->items->str, "Type");
    assert_string_equal(t1->items->next->field_name, "values");
    assert_string_equal(t1->items->next->items->str, "Scheduler-Location");
    const weave_gql_value *sort = arg(t, "sort")->value;
    assert_int_equal(sort->kind, WEAVE_GQL_ENUM);
    assert_string_equal(sort->str, "HEIGHT_DESC");
    const weave_gql_value *first = arg(t, "first")->value;
    assert_int_equal(first->kind, WEAVE_GQL_INT);
    assert_string_equal(first->str, "1");
    /* edges { node { tags { name value } } } */
    const weave_gql_selection *tags_sel = t->children->children->children;
    assert_string_equal(tags_sel->name, "tags");
    assert_string_equal(tags_sel->children->name, "name");
    assert_string_equal(tags_sel->children->next->name, "value");
    assert_null(tags_sel->children->next->next);
    weave_gql_doc_free(doc);
}

static void parses_list_types_and_defaults(void **state)
{
    (void)state;
    weave_gql_doc *doc = parse_ok(
        "query GetBlocks($min: Int!, $limit: Int = 100, $ids: [ID!]!, $x: [[String]!]) "
        "{ blocks(height: {min: $min}, first: $limit, sort: HEIGHT_ASC) "
        "{ pageInfo { hasNextPage } edges { node { timestamp height } } } }");
    const weave_gql_vardef *v = doc->ops->vars;
    assert_string_equal(v->type, "Int!");
    v = v->next;
    assert_string_equal(v->name, "limit");
    assert_string_equal(v->type, "Int");
    assert_false(v->non_null);
    assert_non_null(v->default_value);
    assert_int_equal(v->default_value->kind, WEAVE_GQL_INT);
    assert_string_equal(v->default_value->str, "100");
    v = v->next;
    assert_string_equal(v->type, "[ID!]!");
    assert_true(v->non_null);
    v = v->next;
    assert_string_equal(v->type, "[[String]!]");
    assert_false(v->non_null);
    weave_gql_doc_free(doc);
}

static void parses_aliases_and_every_literal(void **state)
{
    (void)state;
    weave_gql_doc *doc = parse_ok(
        "{ a: transactions(first: -12, f: 1.5e3, s: \"x\\\"\\\\\\/\\n\\u00e9\\ud83d\\ude80\", "
        "b: true, c: false, n: null, e: HEIGHT_ASC, l: [], o: {}) { edges { cursor } } "
        "b: blocks { pageInfo { hasNextPage } } }");
    const weave_gql_selection *a = doc->ops->selections;
    assert_string_equal(a->alias, "a");
    assert_string_equal(a->name, "transactions");
    assert_int_equal(arg(a, "first")->value->kind, WEAVE_GQL_INT);
    assert_string_equal(arg(a, "first")->value->str, "-12");
    assert_int_equal(arg(a, "f")->value->kind, WEAVE_GQL_FLOAT);
    const weave_gql_value *s = arg(a, "s")->value;
    assert_int_equal(s->kind, WEAVE_GQL_STRING);
    assert_string_equal(s->str, "x\"\\/\n\xc3\xa9\xf0\x9f\x9a\x80");
    assert_int_equal(arg(a, "b")->value->kind, WEAVE_GQL_BOOL);
    assert_true(arg(a, "b")->value->boolean);
    assert_false(arg(a, "c")->value->boolean);
    assert_int_equal(arg(a, "n")->value->kind, WEAVE_GQL_NULL);
    assert_int_equal(arg(a, "e")->value->kind, WEAVE_GQL_ENUM);
    assert_int_equal(arg(a, "l")->value->kind, WEAVE_GQL_LIST);
    assert_null(arg(a, "l")->value->items);
    assert_int_equal(arg(a, "o")->value->kind, WEAVE_GQL_OBJECT);
    const weave_gql_selection *b = a->next;
    assert_string_equal(b->alias, "b");
    assert_string_equal(b->name, "blocks");
    assert_null(b->args);
    weave_gql_doc_free(doc);
}

static void parses_fragments_and_directives(void **state)
{
    (void)state;
    weave_gql_doc *doc = parse_ok(
        "query Q($withTags: Boolean!) { transactions { edges { node { ...TxFields "
        "... on Transaction @include(if: $withTags) { tags { name value } } ... { id } } } } }\n"
        "fragment TxFields on Transaction { id owner { address } }");
    const weave_gql_selection *node = doc->ops->selections->children->children;
    const weave_gql_selection *sp = node->children;
    assert_int_equal(sp->kind, WEAVE_GQL_SPREAD);
    assert_string_equal(sp->name, "TxFields");
    const weave_gql_selection *in = sp->next;
    assert_int_equal(in->kind, WEAVE_GQL_INLINE);
    assert_string_equal(in->type_condition, "Transaction");
    assert_string_equal(in->directives->name, "include");
    assert_int_equal(in->directives->args->value->kind, WEAVE_GQL_VARIABLE);
    assert_int_equal(in->next->kind, WEAVE_GQL_INLINE);
    assert_null(in->next->type_condition);
    assert_non_null(doc->fragments);
    assert_string_equal(doc->fragments->name, "TxFields");
    assert_string_equal(doc->fragments->type_condition, "Transaction");
    weave_gql_doc_free(doc);
}

static void parses_block_string_and_bom(void **state)
{
    (void)state;
    weave_gql_doc *doc = parse_ok("\xEF\xBB\xBF{ t(s: \"\"\"\n    hello\n      world\n    \"\"\") }");
    const weave_gql_value *s = doc->ops->selections->args->value;
    assert_string_equal(s->str, "hello\n  world");
    weave_gql_doc_free(doc);
}

static void parses_several_operations(void **state)
{
    (void)state;
    weave_gql_doc *doc = parse_ok("query A { blocks { edges { cursor } } } "
                                  "query B { transactions { edges { cursor } } } "
                                  "mutation M { x }");
    assert_string_equal(doc->ops->name, "A");
    assert_string_equal(doc->ops->next->name, "B");
    assert_int_equal(doc->ops->next->next->kind, WEAVE_GQL_MUTATION);
    weave_gql_doc_free(doc);
}

static void rejects_malformed_with_location(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "   # only a comment\n", "{", "{ }", "{ a(", "{ a(b:) }", "{ a(b: 1 }",
        "{ a { } }", "query Q($x) { a }", "query Q($x: ) { a }", "query Q() { a }",
        "{ a(b: \"unterminated) }", "{ a(b: \"bad \\q escape\") }",
        "{ a(b: \"\\ud800\") }", "{ a(b: 01) }", "{ a(b: 1.) }", "{ a(b: 1e) }",
        "{ a(b: 12abc) }", "{ a(b: $) }", "{ a: }", "{ a } }", "{ ..x }",
        "fragment on on T { a }", "fragment F T { a }", "{ a(b: {c: 1, c: 2}) }",
        "{ a(b: 1, b: 2) }", "query Q($x: Int, $x: Int) { a }",
        "query A { a } query A { b }", "fragment F on T { a } fragment F on T { b }",
        "query Q($x: Int = $y) { a }", "{ a(b: [1, 2) }", "{ a \x01 }", "subscription",
        "{ a(b: \"line\nbreak\") }",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ao_error err = { 0 };
        int rc = parse_err(bad[i], &err);
        if (rc != AO_EFORMAT)
            fail_msg("query %zu (%s): code %d, want AO_EFORMAT", i, bad[i], rc);
        if (!strstr(err.msg, "Syntax Error") || !strstr(err.msg, "line"))
            fail_msg("query %zu: message '%s' lacks the location", i, err.msg);
    }
}

static void error_names_line_and_column(void **state)
{
    (void)state;
    ao_error err = { 0 };
    parse_err("{\n  transactions(first: 1) {\n    edges { node { id } \n  }\n", &err);
    assert_non_null(strstr(err.msg, "line 5"));
    parse_err("{\n  a(b: @) }", &err);
    assert_non_null(strstr(err.msg, "line 2, column 8"));
}

static void limits_nesting_and_size(void **state)
{
    (void)state;
    ao_buf b;
    ao_buf_init(&b);
    for (int i = 0; i < WEAVE_GQL_MAX_DEPTH + 5; i++)
        assert_int_equal(ao_buf_append_str(&b, "{ a "), AO_OK);
    for (int i = 0; i < WEAVE_GQL_MAX_DEPTH + 5; i++)
        assert_int_equal(ao_buf_append_str(&b, "}"), AO_OK);
    weave_gql_doc *doc = NULL;
    ao_error err;
    assert_int_equal(weave_gql_parse((const char *)b.data, b.len, &doc, &err), AO_ELIMIT);
    assert_null(doc);
    ao_buf_reset(&b);
    assert_int_equal(ao_buf_append_str(&b, "{ a(b: "), AO_OK);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(ao_buf_append_byte(&b, '['), AO_OK);
    assert_int_equal(weave_gql_parse((const char *)b.data, b.len, &doc, &err), AO_ELIMIT);
    ao_buf_free(&b);
    char *big = malloc(WEAVE_GQL_MAX_QUERY + 10);
    assert_non_null(big);
    memset(big, ' ', WEAVE_GQL_MAX_QUERY + 10);
    memcpy(big, "{ a }", 5);
    assert_int_equal(weave_gql_parse(big, WEAVE_GQL_MAX_QUERY + 10, &doc, &err), AO_ELIMIT);
    free(big);
    /* just within the nesting limit parses */
    ao_buf_init(&b);
    for (int i = 0; i < WEAVE_GQL_MAX_DEPTH - 1; i++)
        assert_int_equal(ao_buf_append_str(&b, "{ a "), AO_OK);
    for (int i = 0; i < WEAVE_GQL_MAX_DEPTH - 1; i++)
        assert_int_equal(ao_buf_append_str(&b, "}"), AO_OK);
    assert_int_equal(weave_gql_parse((const char *)b.data, b.len, &doc, &err), AO_OK);
    weave_gql_doc_free(doc);
    ao_buf_free(&b);
}

/* text need not be NUL-terminated: a parse of a prefix stops at len */
static void honours_length(void **state)
{
    (void)state;
    const char *q = "{ a } garbage that is not graphql";
    weave_gql_doc *doc = NULL;
    assert_int_equal(weave_gql_parse(q, 5, &doc, NULL), AO_OK);
    assert_string_equal(doc->ops->selections->name, "a");
    weave_gql_doc_free(doc);
    assert_int_equal(weave_gql_parse(q, strlen(q), &doc, NULL), AO_EFORMAT);
}

static void json_string_escapes_and_repairs_utf8(void **state)
{
    (void)state;
    ao_buf b;
    ao_buf_init(&b);
    const char in[] = "a\"b\\c\n\x01\xc3\xa9\xff\xe2\x82";
    assert_int_equal(weave_gql_json_string(&b, in, sizeof in - 1), AO_OK);
    assert_int_equal(ao_buf_append_byte(&b, 0), AO_OK);
    assert_string_equal((char *)b.data,
                        "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    ao_buf_reset(&b);
    /* overlong and surrogate encodings are replaced too */
    const char in2[] = "\xc0\xaf\xed\xa0\x80";
    assert_int_equal(weave_gql_json_string(&b, in2, sizeof in2 - 1), AO_OK);
    assert_int_equal(ao_buf_append_byte(&b, 0), AO_OK);
    assert_null(strstr((char *)b.data, "\xc0"));
    assert_null(strstr((char *)b.data, "\xed\xa0"));
    ao_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_named_operation_with_variables),
        cmocka_unit_test(parses_list_types_and_defaults),
        cmocka_unit_test(parses_aliases_and_every_literal),
        cmocka_unit_test(parses_fragments_and_directives),
        cmocka_unit_test(parses_block_string_and_bom),
        cmocka_unit_test(parses_several_operations),
        cmocka_unit_test(rejects_malformed_with_location),
        cmocka_unit_test(error_names_line_and_column),
        cmocka_unit_test(limits_nesting_and_size),
        cmocka_unit_test(honours_length),
        cmocka_unit_test(json_string_escapes_and_repairs_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
