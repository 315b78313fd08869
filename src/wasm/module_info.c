/*
 * module_info.c - the public introspection of a module's imports and
 * exports (wasm_module_import_count/import/export_count/export), read from
 * the decoded form in wasm_module.h.
 */
#include <string.h>

#include "wasm/wasm_module.h"

/* Type of entity `index` of kind `kind` in module m. */
static void extern_type(const wasm_module *m, uint8_t kind, uint32_t index, wasm_externtype *out)
{
    memset(out, 0, sizeof *out);
    out->kind = (wasm_extern_kind)kind;
    switch (kind) {
    case WASM_EXTERN_FUNC:
        if (index < m->nfuncs && m->func_types[index] < m->ntypes)
            out->func = m->types[m->func_types[index]];
        break;
    case WASM_EXTERN_TABLE:
        if (index < m->ntables) {
            out->table.elem = m->tables[index].elem;
            out->table.limits = m->tables[index].limits;
        }
        break;
    case WASM_EXTERN_MEMORY:
        if (index < m->nmems)
            out->memory = m->mems[index];
        break;
    case WASM_EXTERN_GLOBAL:
        if (index < m->nglobals) {
            out->global.type = m->globals[index].type;
            out->global.mut = m->globals[index].mut;
        }
        break;
    }
}

size_t wasm_module_import_count(const wasm_module *m)
{
    return m ? m->nimports : 0;
}

void wasm_module_import(const wasm_module *m, size_t i, wasm_import_desc *out)
{
    memset(out, 0, sizeof *out);
    if (!m || i >= m->nimports)
        return;
    const wasm_import *im = &m->imports[i];
    out->module = im->module;
    out->name = im->name;
    out->module_len = im->module_len;
    out->name_len = im->name_len;
    extern_type(m, im->kind, im->index, &out->type);
}

const char *wasm_valtype_name(uint8_t type)
{
    switch (type) {
    case WASM_I32: return "i32";
    case WASM_I64: return "i64";
    case WASM_F32: return "f32";
    case WASM_F64: return "f64";
    case WASM_FUNCREF: return "funcref";
    case WASM_EXTERNREF: return "externref";
    default: return "unknown";
    }
}

size_t wasm_module_export_count(const wasm_module *m)
{
    return m ? m->nexports : 0;
}

void wasm_module_export(const wasm_module *m, size_t i, wasm_export_desc *out)
{
    memset(out, 0, sizeof *out);
    if (!m || i >= m->nexports)
        return;
    const wasm_export *ex = &m->exports[i];
    out->name = ex->name;
    out->name_len = ex->name_len;
    extern_type(m, ex->kind, ex->index, &out->type);
}
