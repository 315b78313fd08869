/*
 * gql.h - the GraphQL subset of the weave's gateway face: a lexer and
 * parser for the query language clients send (operations with names and
 * variable definitions, aliases, arguments of every literal kind and
 * variables, nested selections, fragments, inline fragments, @skip and
 * @include) and an executor that answers the Arweave gateway schema
 * (transactions, transaction, blocks, block) from a weave.
 *
 * Internal to the data layer but shared with src/net (the HTTP face) and
 * the tests; not part of weave.h.
 *
 * Limits (a query breaking one gets a GraphQL error, never a crash):
 * query text WEAVE_GQL_MAX_QUERY bytes, nesting WEAVE_GQL_MAX_DEPTH levels
 * (selections, values and fragment expansion), WEAVE_GQL_MAX_FIELDS
 * selections visited per request (fragments included), `first` capped at WEAVE_GQL_MAX_FIRST
 * (larger values are clamped, as arweave.net does), default 10.
 */
#ifndef AO_WEAVE_GQL_H
#define AO_WEAVE_GQL_H

#include <stdint.h>
#include <stdbool.h>

#include "base/base.h"

#define WEAVE_GQL_MAX_QUERY   (256 * 1024)
#define WEAVE_GQL_MAX_DEPTH   32
#define WEAVE_GQL_MAX_FIELDS  200000
#define WEAVE_GQL_MAX_FIRST   100
#define WEAVE_GQL_DEFAULT_FIRST 10

/* ---- syntax tree (all nodes live in the document's arena) ---- */

typedef enum {
    WEAVE_GQL_NULL, WEAVE_GQL_BOOL, WEAVE_GQL_INT, WEAVE_GQL_FLOAT,
    WEAVE_GQL_STRING, WEAVE_GQL_ENUM, WEAVE_GQL_LIST, WEAVE_GQL_OBJECT,
    WEAVE_GQL_VARIABLE,
} weave_gql_value_kind;

typedef struct weave_gql_value weave_gql_value;
struct weave_gql_value {
    weave_gql_value_kind kind;
    const char *str;          /* STRING text (unescaped, NUL-terminated; may
                                 hold NUL bytes, see len), ENUM / VARIABLE
                                 name, INT / FLOAT source text */
    size_t len;               /* length of str */
    bool boolean;             /* BOOL */
    const char *field_name;   /* when this value is an OBJECT field */
    weave_gql_value *items;   /* LIST items / OBJECT fields (linked) */
    weave_gql_value *next;    /* next sibling in a list or object */
};

typedef struct weave_gql_argument weave_gql_argument;
struct weave_gql_argument {
    const char *name;
    weave_gql_value *value;
    weave_gql_argument *next;
};

typedef struct weave_gql_directive weave_gql_directive;
struct weave_gql_directive {
    const char *name;
    weave_gql_argument *args;
    weave_gql_directive *next;
};

typedef enum {
    WEAVE_GQL_FIELD, WEAVE_GQL_SPREAD, WEAVE_GQL_INLINE,
} weave_gql_selection_kind;

typedef struct weave_gql_selection weave_gql_selection;
struct weave_gql_selection {
    weave_gql_selection_kind kind;
    const char *alias;             /* FIELD: NULL when none */
    const char *name;              /* FIELD name, SPREAD fragment name */
    const char *type_condition;    /* INLINE: NULL when none */
    weave_gql_argument *args;      /* FIELD */
    weave_gql_directive *directives;
    weave_gql_selection *children; /* FIELD (may be NULL), INLINE */
    bool has_children;             /* a selection set was written */
    weave_gql_selection *next;
};

typedef struct weave_gql_vardef weave_gql_vardef;
struct weave_gql_vardef {
    const char *name;              /* without '$' */
    const char *type;              /* as written, normalised: "[ID!]!" */
    bool non_null;                 /* the outer type ends in '!' */
    weave_gql_value *default_value;/* NULL when none */
    weave_gql_vardef *next;
};

typedef enum {
    WEAVE_GQL_QUERY, WEAVE_GQL_MUTATION, WEAVE_GQL_SUBSCRIPTION,
} weave_gql_op_kind;

typedef struct weave_gql_operation weave_gql_operation;
struct weave_gql_operation {
    weave_gql_op_kind kind;
    const char *name;              /* NULL for anonymous operations */
    weave_gql_vardef *vars;
    weave_gql_directive *directives;
    weave_gql_selection *selections;
    weave_gql_operation *next;
};

typedef struct weave_gql_fragment weave_gql_fragment;
struct weave_gql_fragment {
    const char *name;
    const char *type_condition;
    weave_gql_directive *directives;
    weave_gql_selection *selections;
    weave_gql_fragment *next;
};

typedef struct weave_gql_doc {
    weave_gql_operation *ops;
    weave_gql_fragment *fragments;
    struct weave_gql_arena *arena;   /* owns every node */
} weave_gql_doc;

/* Parse query text (need not be NUL-terminated). On success *out is a new
 * document (weave_gql_doc_free). On a syntax error returns AO_EFORMAT with
 * "Syntax Error: <what> at line L, column C" in err->msg; AO_ELIMIT for a
 * limit; AO_ENOMEM. */
int weave_gql_parse(const char *text, size_t len, weave_gql_doc **out, ao_error *err);
void weave_gql_doc_free(weave_gql_doc *doc);

/* ---- execution ---- */

struct weave;   /* src/weave/weave.h */

/* Execute one request against a weave and append the GraphQL response JSON
 * to out: {"data":{...}} with fields in the order asked and aliases
 * honoured, or {"errors":[{"message":"..."}]} for any syntax, validation
 * or execution error (the request is then not partly answered; *failed,
 * if failed is non-NULL, tells which: HTTP answers errors with 400).
 * variables_json: the JSON text of the variables object (NULL, "" or
 * "null" for none); operation_name: NULL or the operation to run.
 * Returns AO_OK whenever a GraphQL response was written (including an
 * errors response); a negative code only when even that failed (ENOMEM). */
int weave_gql_execute(struct weave *w, const char *query, size_t query_len,
                      const char *variables_json, size_t variables_len,
                      const char *operation_name, ao_buf *out, bool *failed,
                      ao_error *err);

/* Whole HTTP body {"query":..., "variables":..., "operationName":...}:
 * parses the JSON envelope (not JSON or no query string: an errors
 * response) then executes as above. */
int weave_gql_execute_request(struct weave *w, const char *body, size_t len,
                              ao_buf *out, bool *failed, ao_error *err);

/* Append s (n bytes) as a JSON string literal, escaping as RFC 8259 needs;
 * invalid UTF-8 bytes become U+FFFD. */
int weave_gql_json_string(ao_buf *out, const char *s, size_t n);

#endif
