/*
 * safeload.engine._native: the pickle machine's opcode loop in C.
 *
 * This is a drop-in replacement for Machine._walk (engine/machine.py), which stays the reference.
 * It executes the opcodes of plain data (strings, numbers, containers, memo, marks, frames) on a
 * compact representation -- a 12-byte tagged value per stack slot, memo entry or container item,
 * with strings and bytes kept as (offset, length) into the scanned buffer -- and hands everything
 * semantic to the walker's Python methods (_call, _build, _mutate, _hash_keys, _flag) and to the
 * helpers in engine/native.py, with exact Python values built on demand ("materialised").
 *
 * Security invariants (the input is hostile):
 * - every read of the buffer is bounds-checked against its length; offsets are 64-bit and every
 *   length from the file is compared against what is left, never added to an offset first;
 * - no recursion on data: materialising nested containers, and freeing them, use explicit stacks;
 * - a container is materialised once (identity is kept: the memo, the stack and every container
 *   that holds it see the same Python object); after that every mutation goes to that object, so
 *   what the semantics keep (escape roots) sees later APPENDs/SETITEMs, as with the Python engine;
 * - every limit the Python loop enforces is enforced here at the same opcode and with the same rule.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <stdarg.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* ------------------------------------------------------------------------------------------------ */
/* configuration: references set once by engine/native.py (configure())                            */

enum {
    H_PARSE_ERROR, H_LIMIT_EXCEEDED, H_RAISE_DATA_ERROR, H_SETITEMS, H_SETITEM, H_APPENDS, H_APPEND,
    H_ADDITEMS, H_MAKE_DICT, H_MAKE_FROZENSET, H_GLOBAL, H_STACK_GLOBAL, H_INST, H_EXT, H_BINPERSID,
    H_PERSID, H_TEXT_INT, H_TEXT_LONG, H_TEXT_FLOAT, H_TEXT_STRING, H_TEXT_UNICODE, H_TEXT_INDEX,
    H_NEXT_BUFFER, H_BIG_BYTES, H_OPAQUE, H_LONG_FROM_BYTES, H_CRITICAL, H_U_NEW,
    H_COUNT
};
static const char *const helper_names[H_COUNT] = {
    "ParseError", "LimitExceeded", "raise_data_error", "setitems", "setitem", "appends", "append",
    "additems", "make_dict", "make_frozenset", "global_", "stack_global", "inst", "ext", "binpersid",
    "persid", "text_int", "text_long", "text_float", "text_string", "text_unicode", "text_index",
    "next_buffer", "big_bytes", "opaque", "long_from_bytes", "CRITICAL", "U_NEW",
};
static PyObject *H[H_COUNT];
static int configured = 0;
static PyObject *s_call, *s_build, *s_flag, *s_frame_end, *s_offset, *s_severity, *s_summary_ok;

#define SMALL_BYTES 65536
#define CHECK_EVERY 0xFFFFu

/* ------------------------------------------------------------------------------------------------ */
/* values                                                                                           */

/* T_ASTR: a T_USTR known to be ASCII (built without decoding) */
enum { T_EMPTY = 0, T_NONE, T_TRUE, T_FALSE, T_INT, T_FLOAT, T_USTR, T_LSTR, T_BYTES, T_ASTR, T_OBJ, T_NODE };
enum { K_LIST = 1, K_DICT, K_TUPLE, K_SET, K_FROZENSET };

/* 12 bytes: the tag and a 28-bit length share a word (strings of 256 MiB or more are Python objects). */
#define MAX_INLINE_LEN ((1u << 28) - 1)
#pragma pack(push, 4)
typedef struct {
    uint32_t tag : 4;
    uint32_t len : 28;     /* T_USTR/T_LSTR/T_BYTES: byte length */
    union {
        int64_t i;
        double d;
        uint64_t off;      /* T_USTR/T_LSTR/T_BYTES: offset into the buffer */
        PyObject *o;       /* T_OBJ: a strong reference */
        uint64_t node;     /* T_NODE: index into nodes */
    } u;
} Val;
#pragma pack(pop)

typedef struct {
    Val *items;            /* dict: key, value, key, value, ...; when `summarised`: the PlainList holding them */
    PyObject *obj;         /* once materialised: the Python object; items are then empty */
    uint32_t len, cap;
    uint32_t mark;
    uint8_t kind;
    uint8_t heap;          /* items were malloc'd (else they live in the arena) */
    uint8_t summarised;    /* a list handed to BUILD as a PlainList: its items moved there, frozen */
} Node;

/* A list of plain scalars handed to the semantics in BUILD state instead of the list it stands for (see
   "PlainList" below and docs/engine.md). It owns the list's items and the buffer's owner, not the Walk. */
typedef struct {
    PyObject_HEAD
    PyObject *data;        /* owner of the scanned buffer; its buffer is taken only while building the list */
    Val *items;            /* plain scalars only: no container, no name, no object (NULL once built) */
    uint32_t len;
    PyObject *list;        /* the exact list, once built (then every holder of the node shares it) */
} PlainList;

static PyTypeObject PlainListType;
static PyObject *plainlist_build(PlainList *p);
#define SUMMARY_MIN 256u   /* shorter lists are built exactly: cheap, and PlainLists stay rare */

typedef struct { uint32_t key; uint32_t used; Val v; } MEnt;

typedef struct Chunk { struct Chunk *next; } Chunk;

typedef struct {
    PyObject_HEAD
    PyObject *walker, *data, *res, *check_time, *m_call, *m_build, *m_flag;
    Py_buffer view;
    int have_view;
    const unsigned char *buf;
    Py_ssize_t n;
    int64_t stream_start, start, pos, frame_end;
    uint64_t count, budget, res_opcodes;
    int64_t res_end;
    int64_t max_memo, max_marks, max_stack, max_opcodes;
    /* stack and marks */
    Val *stk; size_t sp, scap;
    size_t *marks; size_t nmarks, mcap;
    /* memo */
    Val *md; size_t mdcap;
    MEnt *ms; size_t mscap, mscount;
    size_t mcount;                 /* distinct native keys */
    PyObject *mexotic;             /* keys outside [0, 2**32): a dict of materialised values */
    /* containers */
    Node *nodes; size_t nn, ncap;
    Chunk *chunks; char *acur; size_t aleft, achunk;
    uint32_t epoch;
    int impure;                    /* a value other than plain data was produced */
    int any_obj;                   /* a T_OBJ value was produced (else freeing skips reference counts) */
    int broken;                    /* a materialisation failed half-way: refuse to hand out values */
    int ran, has_root, complete;
    int in_mat;                    /* materialisation is not re-entrant */
    int summarise;                 /* materialising BUILD state: plain lists become PlainLists */
    PyObject *m_summary_ok;        /* walker._state_summary_ok, or NULL */
    PyObject *bound_type;          /* the walker's class when the four methods above were fetched */
    Val root;
} Walk;

/* The walker's semantic methods, fetched again when its class changed: a StreamWalker becomes a PickleWalker
   at its first semantic step (engine/walker.py), and from then on the semantics are called directly. */
static int walk_bind(Walk *w) {
    PyObject *c = PyObject_GetAttr(w->walker, s_call);
    PyObject *b = c ? PyObject_GetAttr(w->walker, s_build) : NULL;
    PyObject *f = b ? PyObject_GetAttr(w->walker, s_flag) : NULL;
    if (f == NULL) { Py_XDECREF(c); Py_XDECREF(b); return -1; }
    PyObject *s = PyObject_GetAttr(w->walker, s_summary_ok);
    if (s == NULL) {  /* a machine without semantics for it: states are built exactly */
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) { Py_DECREF(c); Py_DECREF(b); Py_DECREF(f); return -1; }
        PyErr_Clear();
    }
    PyObject *t = (PyObject *)Py_TYPE(w->walker);
    Py_INCREF(t);
    Py_XSETREF(w->m_call, c); Py_XSETREF(w->m_build, b); Py_XSETREF(w->m_flag, f); Py_XSETREF(w->m_summary_ok, s);
    Py_XSETREF(w->bound_type, t);
    return 0;
}

/* 0, or -1 with an exception: before every call of a semantic method */
static inline int walk_bound(Walk *w) {
    if (w->walker == NULL || (PyObject *)Py_TYPE(w->walker) == w->bound_type) return 0;
    return walk_bind(w);
}

static PyTypeObject WalkType;

static inline void vinc(const Val *v) { if (v->tag == T_OBJ) Py_INCREF(v->u.o); }
static inline void vdec(Val *v) { if (v->tag == T_OBJ) { PyObject *o = v->u.o; v->u.o = NULL; Py_DECREF(o); } v->tag = T_EMPTY; }

/* A strong reference becomes a value (the reference is stolen). */
static Val val_obj(Walk *w, PyObject *o) {
    Val v;
    PyTypeObject *t = Py_TYPE(o);
    w->any_obj = 1;
    if (!(t == &PyLong_Type || t == &PyFloat_Type || t == &PyUnicode_Type || t == &PyBytes_Type ||
          t == &PyBool_Type || o == Py_None))
        w->impure = 1;
    v.tag = T_OBJ; v.len = 0; v.u.o = o;
    return v;
}

/* ------------------------------------------------------------------------------------------------ */
/* arena for container items                                                                        */

#define CHUNK_SIZE (4u << 20)

/* Ask for transparent huge pages on a large block (fewer page faults on the dense case); a hint only. */
static void hint_huge(void *p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes < (4u << 20)) return;
    uintptr_t a = ((uintptr_t)p + 4095u) & ~(uintptr_t)4095u;
    uintptr_t b = ((uintptr_t)p + bytes) & ~(uintptr_t)4095u;
    if (b > a) (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
    (void)p; (void)bytes;
#endif
}

static void *arena_alloc(Walk *w, size_t bytes) {
    bytes = (bytes + 15u) & ~(size_t)15u;
    if (bytes > w->aleft) {
        /* chunks grow from 64 KiB to CHUNK_SIZE: small pickles (most streams) stay cheap to set up */
        size_t size = w->achunk ? w->achunk * 2 : (64u << 10);
        if (size > CHUNK_SIZE) size = CHUNK_SIZE;
        w->achunk = size;
        Chunk *c = (Chunk *)PyMem_RawMalloc(size);
        if (c == NULL) { PyErr_NoMemory(); return NULL; }
        hint_huge(c, size);
        c->next = w->chunks;
        w->chunks = c;
        w->acur = (char *)c + 16;
        w->aleft = size - 16;
    }
    void *p = w->acur;
    w->acur += bytes;
    w->aleft -= bytes;
    return p;
}

/* Make room for `extra` more items in node `id`. */
static int node_reserve(Walk *w, size_t id, size_t extra) {
    Node *nd = &w->nodes[id];
    size_t need = (size_t)nd->len + extra;
    if (need <= nd->cap) return 0;
    if (need > 0xFFFFFFF0u) { PyErr_NoMemory(); return -1; }
    size_t cap = nd->cap ? (size_t)nd->cap * 2 : 4;
    if (cap < need) cap = need;
    if (cap > 0xFFFFFFF0u) cap = 0xFFFFFFF0u;
    size_t bytes = cap * sizeof(Val);
    Val *items;
    if (nd->heap) {
        items = (Val *)PyMem_RawRealloc(nd->items, bytes);
        if (items == NULL) { PyErr_NoMemory(); return -1; }
    } else if (bytes > 2048) {
        items = (Val *)PyMem_RawMalloc(bytes);
        if (items == NULL) { PyErr_NoMemory(); return -1; }
        if (nd->len) memcpy(items, nd->items, (size_t)nd->len * sizeof(Val));
        nd->heap = 1;
    } else {
        items = (Val *)arena_alloc(w, bytes);
        if (items == NULL) return -1;
        if (nd->len) memcpy(items, nd->items, (size_t)nd->len * sizeof(Val));
    }
    nd->items = items;
    nd->cap = (uint32_t)cap;
    return 0;
}

/* A new container of `kind`; returns its index or -1. Node pointers are invalid afterwards. */
static Py_ssize_t node_new(Walk *w, int kind) {
    if (w->nn == w->ncap) {
        size_t cap = w->ncap ? w->ncap * 2 : 64;
        Node *nodes = (Node *)PyMem_RawRealloc(w->nodes, cap * sizeof(Node));
        if (nodes == NULL) { PyErr_NoMemory(); return -1; }
        hint_huge(nodes, cap * sizeof(Node));
        w->nodes = nodes;
        w->ncap = cap;
    }
    Node *nd = &w->nodes[w->nn];
    memset(nd, 0, sizeof(Node));
    nd->kind = (uint8_t)kind;
    return (Py_ssize_t)w->nn++;
}

static inline Val val_node(size_t id) { Val v; v.tag = T_NODE; v.len = 0; v.u.node = id; return v; }

/* Move `count` values (references included) into node `id`. */
static int node_extend(Walk *w, size_t id, Val *src, size_t count) {
    if (count == 0) return 0;
    if (node_reserve(w, id, count) < 0) return -1;
    Node *nd = &w->nodes[id];
    memcpy(nd->items + nd->len, src, count * sizeof(Val));
    nd->len += (uint32_t)count;
    return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* errors                                                                                           */

static int raise_parse(int64_t offset, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    PyObject *msg = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    if (msg == NULL) return -1;
    PyObject *exc = PyObject_CallFunction(H[H_PARSE_ERROR], "NL", msg, (long long)offset);
    if (exc == NULL) return -1;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return -1;
}

static int raise_limit(const char *rule, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    PyObject *msg = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    if (msg == NULL) return -1;
    PyObject *exc = PyObject_CallFunction(H[H_LIMIT_EXCEEDED], "sN", rule, msg);
    if (exc == NULL) return -1;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return -1;
}

/* The exact exception Python raises for data[pos] (fmt NULL) or struct.unpack_from(fmt, data, pos). */
static int raise_data(Walk *w, int64_t at, const char *fmt) {
    PyObject *r = PyObject_CallFunction(H[H_RAISE_DATA_ERROR], "OLs", w->data, (long long)at, fmt ? fmt : "");
    if (r != NULL) {  /* the helper must raise; if it did not, the engine is confused: fail */
        Py_DECREF(r);
        PyErr_SetString(PyExc_SystemError, "native pickle engine: a bounds check and the data disagree");
    }
    return -1;
}

static int raise_pop(void) { PyErr_SetString(PyExc_IndexError, "pop from empty list"); return -1; }
static int raise_peek(void) { PyErr_SetString(PyExc_IndexError, "list index out of range"); return -1; }

/* ------------------------------------------------------------------------------------------------ */
/* UTF-8 (with surrogates allowed, as str(b, "utf-8", "surrogatepass"))                             */

/* 0: invalid; 1: valid; 2: valid and ASCII only */
static int utf8_valid(const unsigned char *s, size_t len, int allow_surrogates) {
    size_t i = 0;
    int ascii = 2;
    while (i < len) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= len) {
            uint64_t chunk;
            memcpy(&chunk, s + i, 8);
            if (chunk & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= len) break;
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        ascii = 1;
        if (c < 0xC2) return 0;
        if (c < 0xE0) {
            if (i + 1 >= len || (s[i + 1] & 0xC0) != 0x80) return 0;
            i += 2;
        } else if (c < 0xF0) {
            if (i + 2 >= len) return 0;
            unsigned char c1 = s[i + 1];
            if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return 0;
            if (c == 0xE0 && c1 < 0xA0) return 0;                      /* overlong */
            if (c == 0xED && c1 >= 0xA0 && !allow_surrogates) return 0;  /* surrogate */
            i += 3;
        } else if (c < 0xF5) {
            if (i + 3 >= len) return 0;
            unsigned char c1 = s[i + 1];
            if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80) return 0;
            if (c == 0xF0 && c1 < 0x90) return 0;                      /* overlong */
            if (c == 0xF4 && c1 >= 0x90) return 0;                     /* > U+10FFFF */
            i += 4;
        } else {
            return 0;
        }
    }
    return ascii;
}

/* ------------------------------------------------------------------------------------------------ */
/* materialisation: native values -> exact Python values                                            */

static PyObject *mat(Walk *w, const Val *v);

static int in_buffer(Walk *w, const Val *v) {
    if (w->buf == NULL) { PyErr_SetString(PyExc_RuntimeError, "native pickle engine: buffer not held"); return 0; }
    if (v->u.off > (uint64_t)w->n || (uint64_t)v->len > (uint64_t)w->n - v->u.off) {
        PyErr_SetString(PyExc_ValueError, "the scanned buffer changed size during the scan");
        return 0;
    }
    return 1;
}

static PyObject *scalar_obj(const unsigned char *buf, Py_ssize_t n, const Val *v);

static PyObject *mat_scalar(Walk *w, const Val *v) {
    if (v->tag == T_USTR || v->tag == T_ASTR || v->tag == T_LSTR || v->tag == T_BYTES) {
        if (!in_buffer(w, v)) return NULL;
    }
    return scalar_obj(w->buf, w->n, v);
}

/* The Python value of a scalar; strings and bytes read buf[off:off+len], checked against n. */
static PyObject *scalar_obj(const unsigned char *buf, Py_ssize_t n, const Val *v) {
    if ((v->tag == T_USTR || v->tag == T_ASTR || v->tag == T_LSTR || v->tag == T_BYTES) &&
        (buf == NULL || v->u.off > (uint64_t)n || (uint64_t)v->len > (uint64_t)n - v->u.off)) {
        PyErr_SetString(PyExc_ValueError, "the scanned buffer changed size during the scan");
        return NULL;
    }
    switch (v->tag) {
    case T_NONE: Py_RETURN_NONE;
    case T_TRUE: Py_RETURN_TRUE;
    case T_FALSE: Py_RETURN_FALSE;
    case T_INT: return PyLong_FromLongLong(v->u.i);
    case T_FLOAT: return PyFloat_FromDouble(v->u.d);
    case T_USTR:
        return PyUnicode_DecodeUTF8((const char *)buf + v->u.off, (Py_ssize_t)v->len, "surrogatepass");
    case T_ASTR: {
        PyObject *o = PyUnicode_New((Py_ssize_t)v->len, 127);
        if (o == NULL) return NULL;
        memcpy(PyUnicode_DATA(o), buf + v->u.off, (size_t)v->len);
        return o;
    }
    case T_LSTR:
        return PyUnicode_DecodeLatin1((const char *)buf + v->u.off, (Py_ssize_t)v->len, NULL);
    case T_BYTES:
        return PyBytes_FromStringAndSize((const char *)buf + v->u.off, (Py_ssize_t)v->len);
    case T_OBJ:
        Py_INCREF(v->u.o);
        return v->u.o;
    default:
        PyErr_SetString(PyExc_SystemError, "native pickle engine: bad value tag");
        return NULL;
    }
}

typedef struct { size_t *ids; size_t len, cap; } IdVec;

static int idvec_push(IdVec *v, size_t id) {
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        size_t *ids = (size_t *)PyMem_RawRealloc(v->ids, cap * sizeof(size_t));
        if (ids == NULL) { PyErr_NoMemory(); return -1; }
        v->ids = ids;
        v->cap = cap;
    }
    v->ids[v->len++] = id;
    return 0;
}

static void node_clear_items(Walk *w, Node *nd) {
    if (nd->summarised) return;  /* its items are the PlainList's */
    for (uint32_t i = 0; i < nd->len; i++) vdec(&nd->items[i]);
    if (nd->heap) PyMem_RawFree(nd->items);
    nd->items = NULL;
    nd->len = nd->cap = 0;
    nd->heap = 0;
    (void)w;
}

/* A plain scalar: what a PlainList may hold (the escape walk and every rule ignore these). */
static inline int plain_scalar(const Val *v) {
    if (v->tag >= T_NONE && v->tag <= T_ASTR) return 1;
    if (v->tag != T_OBJ) return 0;
    PyTypeObject *t = Py_TYPE(v->u.o);
    return t == &PyLong_Type || t == &PyFloat_Type || t == &PyUnicode_Type || t == &PyBytes_Type ||
           t == &PyBool_Type || v->u.o == Py_None;
}

/* Whether node `nd` may be handed to BUILD as a PlainList: a native list, not yet materialised, long enough,
   every item a plain scalar. */
static int summarisable(const Node *nd) {
    if (nd->kind != K_LIST || nd->obj != NULL || nd->summarised || nd->len < SUMMARY_MIN) return 0;
    for (uint32_t i = 0; i < nd->len; i++)
        if (!plain_scalar(&nd->items[i])) return 0;
    return 1;
}

/* Move node `id`'s items into a new PlainList (the node keeps a reference to it; nothing is materialised). */
static int summarise_node(Walk *w, size_t id) {
    Node *nd = &w->nodes[id];
    PlainList *p = PyObject_New(PlainList, &PlainListType);
    if (p == NULL) return -1;
    p->list = NULL;
    p->len = nd->len;
    if (nd->heap) {
        p->items = nd->items;
    } else {
        p->items = (Val *)PyMem_RawMalloc((size_t)nd->len * sizeof(Val) + 1);
        if (p->items == NULL) { p->data = NULL; p->len = 0; Py_DECREF(p); PyErr_NoMemory(); return -1; }
        memcpy(p->items, nd->items, (size_t)nd->len * sizeof(Val));
    }
    Py_INCREF(w->data);
    p->data = w->data;
    nd->items = (Val *)(void *)p;  /* the node's reference */
    nd->len = nd->cap = 0;
    nd->heap = 0;
    nd->summarised = 1;
    return 0;
}

static inline PlainList *node_summary(Node *nd) { return nd->summarised ? (PlainList *)(void *)nd->items : NULL; }

/* A summarised node's value: its PlainList while materialising BUILD state, else the exact list (built once,
   and from then on the node's object: every later holder and every mutation shares it). */
static PyObject *mat_summary(Walk *w, size_t id) {
    PlainList *p = node_summary(&w->nodes[id]);
    if (w->summarise) { Py_INCREF(p); return (PyObject *)p; }
    PyObject *lst = plainlist_build(p);
    if (lst == NULL) return NULL;
    Py_INCREF(lst);
    w->nodes[id].obj = lst;
    return lst;
}

static inline int is_mutable(int kind) { return kind == K_LIST || kind == K_DICT || kind == K_SET; }

static PyObject *build_immutable(Walk *w, Node *nd) {
    if (nd->kind == K_TUPLE) {
        PyObject *t = PyTuple_New((Py_ssize_t)nd->len);
        if (t == NULL) return NULL;
        for (uint32_t i = 0; i < nd->len; i++) {
            PyObject *o = mat(w, &nd->items[i]);
            if (o == NULL) { Py_DECREF(t); return NULL; }
            PyTuple_SET_ITEM(t, i, o);
        }
        return t;
    }
    PyObject *lst = PyList_New((Py_ssize_t)nd->len);
    if (lst == NULL) return NULL;
    for (uint32_t i = 0; i < nd->len; i++) {
        PyObject *o = mat(w, &nd->items[i]);
        if (o == NULL) { Py_DECREF(lst); return NULL; }
        PyList_SET_ITEM(lst, i, o);
    }
    PyObject *fs = PyFrozenSet_New(lst);
    Py_DECREF(lst);
    return fs;
}

/* Materialise node `root` and every native container it reaches, without recursion:
   1. collect the reachable containers not yet materialised;
   2. create the mutable ones empty (lists, dicts, sets: only they can close a cycle);
   3. build tuples and frozensets children first (their items existed before them: no cycles);
   4. fill the mutable ones in order (dict pairs in insertion order: later keys overwrite, as in Python). */
static PyObject *mat_node(Walk *w, size_t root) {
    if (w->broken) {
        PyErr_SetString(PyExc_RuntimeError, "native pickle engine: an earlier materialisation failed");
        return NULL;
    }
    if (w->nodes[root].obj != NULL) { Py_INCREF(w->nodes[root].obj); return w->nodes[root].obj; }
    if (w->in_mat) {
        PyErr_SetString(PyExc_SystemError, "native pickle engine: nested materialisation");
        return NULL;
    }
    IdVec coll = {0}, todo = {0}, frames = {0};
    size_t *fidx = NULL; size_t fcap = 0;
    PyObject *result = NULL;
    w->epoch++;
    if (w->epoch == 0) {
        for (size_t i = 0; i < w->nn; i++) w->nodes[i].mark = 0;
        w->epoch = 1;
    }
    uint32_t ep = w->epoch;
    w->in_mat = 1;
    w->nodes[root].mark = ep;
    if (idvec_push(&todo, root) < 0) goto fail;
    while (todo.len) {
        size_t id = todo.ids[--todo.len];
        if (idvec_push(&coll, id) < 0) goto fail;
        Node *nd = &w->nodes[id];
        for (uint32_t i = 0; i < nd->len; i++) {
            Val *it = &nd->items[i];
            if (it->tag != T_NODE) continue;
            Node *c = &w->nodes[it->u.node];
            if (c->obj != NULL || c->mark == ep) continue;
            if (w->summarise && summarisable(c) && summarise_node(w, (size_t)it->u.node) < 0) goto fail;
            if (c->summarised) continue;  /* mat() gives its PlainList or its list: not built here */
            c->mark = ep;
            if (idvec_push(&todo, (size_t)it->u.node) < 0) goto fail;
            nd = &w->nodes[id];
        }
    }
    /* 2. mutable containers, empty */
    for (size_t k = 0; k < coll.len; k++) {
        Node *nd = &w->nodes[coll.ids[k]];
        PyObject *o = NULL;
        if (nd->kind == K_LIST) o = PyList_New((Py_ssize_t)nd->len);  /* filled in step 4, before anyone sees it */
        else if (nd->kind == K_DICT) o = PyDict_New();
        else if (nd->kind == K_SET) o = PySet_New(NULL);
        else continue;
        if (o == NULL) goto broken;
        nd->obj = o;
    }
    /* 3. immutable containers, children first (post-order with an explicit stack) */
    for (size_t k = 0; k < coll.len; k++) {
        size_t top_id = coll.ids[k];
        if (is_mutable(w->nodes[top_id].kind) || w->nodes[top_id].obj != NULL) continue;
        frames.len = 0;
        if (idvec_push(&frames, top_id) < 0) goto broken;
        if (fcap < frames.cap) {
            size_t *f = (size_t *)PyMem_RawRealloc(fidx, frames.cap * sizeof(size_t));
            if (f == NULL) { PyErr_NoMemory(); goto broken; }
            fidx = f; fcap = frames.cap;
        }
        fidx[0] = 0;
        while (frames.len) {
            size_t id = frames.ids[frames.len - 1];
            size_t i = fidx[frames.len - 1];
            Node *nd = &w->nodes[id];
            int descended = 0;
            for (; i < nd->len; i++) {
                Val *it = &nd->items[i];
                if (it->tag != T_NODE) continue;
                Node *c = &w->nodes[it->u.node];
                if (c->obj != NULL || c->summarised) continue;
                fidx[frames.len - 1] = i + 1;
                if (idvec_push(&frames, (size_t)it->u.node) < 0) goto broken;
                if (fcap < frames.cap) {
                    size_t *f = (size_t *)PyMem_RawRealloc(fidx, frames.cap * sizeof(size_t));
                    if (f == NULL) { PyErr_NoMemory(); goto broken; }
                    fidx = f; fcap = frames.cap;
                }
                fidx[frames.len - 1] = 0;
                descended = 1;
                break;
            }
            if (descended) continue;
            PyObject *o = build_immutable(w, nd);
            if (o == NULL) goto broken;
            w->nodes[id].obj = o;
            frames.len--;
        }
    }
    /* 4. fill the mutable containers */
    for (size_t k = 0; k < coll.len; k++) {
        Node *nd = &w->nodes[coll.ids[k]];
        if (!is_mutable(nd->kind)) continue;
        if (nd->kind == K_DICT) {
            for (uint32_t i = 0; i + 1 < nd->len; i += 2) {
                PyObject *key = mat(w, &nd->items[i]);
                if (key == NULL) goto broken;
                PyObject *value = mat(w, &nd->items[i + 1]);
                if (value == NULL) { Py_DECREF(key); goto broken; }
                int rc = PyDict_SetItem(nd->obj, key, value);
                Py_DECREF(key);
                Py_DECREF(value);
                if (rc < 0) goto broken;
            }
        } else if (nd->kind == K_LIST) {
            for (uint32_t i = 0; i < nd->len; i++) {
                PyObject *o = mat(w, &nd->items[i]);
                if (o == NULL) goto broken;
                PyList_SET_ITEM(nd->obj, i, o);
            }
        } else {
            for (uint32_t i = 0; i < nd->len; i++) {
                PyObject *o = mat(w, &nd->items[i]);
                if (o == NULL) goto broken;
                int rc = PySet_Add(nd->obj, o);
                Py_DECREF(o);
                if (rc < 0) goto broken;
            }
        }
    }
    for (size_t k = 0; k < coll.len; k++) node_clear_items(w, &w->nodes[coll.ids[k]]);
    result = w->nodes[root].obj;
    Py_INCREF(result);
    goto done;
broken:
    w->broken = 1;
fail:
    result = NULL;
done:
    w->in_mat = 0;
    PyMem_RawFree(coll.ids);
    PyMem_RawFree(todo.ids);
    PyMem_RawFree(frames.ids);
    PyMem_RawFree(fidx);
    return result;
}

static PyObject *mat(Walk *w, const Val *v) {
    if (v->tag == T_NODE) {
        if (w->broken && !w->in_mat) {  /* containers may be half-built: hand none of them out */
            PyErr_SetString(PyExc_RuntimeError, "native pickle engine: an earlier materialisation failed");
            return NULL;
        }
        Node *nd = &w->nodes[v->u.node];
        if (nd->obj != NULL) { Py_INCREF(nd->obj); return nd->obj; }
        if (w->summarise && summarisable(nd) && summarise_node(w, (size_t)v->u.node) < 0) return NULL;
        if (nd->summarised) return mat_summary(w, (size_t)v->u.node);
        return mat_node(w, (size_t)v->u.node);
    }
    return mat_scalar(w, v);
}

/* A tuple or list of materialised values. */
static PyObject *mat_seq(Walk *w, Val *items, size_t count, int as_tuple) {
    PyObject *seq = as_tuple ? PyTuple_New((Py_ssize_t)count) : PyList_New((Py_ssize_t)count);
    if (seq == NULL) return NULL;
    for (size_t i = 0; i < count; i++) {
        PyObject *o = mat(w, &items[i]);
        if (o == NULL) { Py_DECREF(seq); return NULL; }
        if (as_tuple) PyTuple_SET_ITEM(seq, (Py_ssize_t)i, o);
        else PyList_SET_ITEM(seq, (Py_ssize_t)i, o);
    }
    return seq;
}

/* ------------------------------------------------------------------------------------------------ */
/* stack and memo                                                                                   */

static int stk_grow(Walk *w, size_t extra) {
    if (w->sp + extra <= w->scap) return 0;
    size_t cap = w->scap ? w->scap * 2 : 64;
    while (cap < w->sp + extra) cap *= 2;
    Val *stk = (Val *)PyMem_RawRealloc(w->stk, cap * sizeof(Val));
    if (stk == NULL) { PyErr_NoMemory(); return -1; }
    w->stk = stk;
    w->scap = cap;
    return 0;
}

static inline size_t frame_base(Walk *w) { return w->nmarks ? w->marks[w->nmarks - 1] : 0; }

static inline size_t memo_len(Walk *w) {
    return w->mcount + (w->mexotic ? (size_t)PyDict_GET_SIZE(w->mexotic) : 0);
}

static Val *memo_find(Walk *w, uint32_t idx) {
    if (idx < w->mdcap) {
        if (w->md[idx].tag != T_EMPTY) return &w->md[idx];
    }
    if (w->mscount == 0) return NULL;
    size_t mask = w->mscap - 1;
    size_t h = ((size_t)idx * 0x9E3779B97F4A7C15ull) & mask;
    while (w->ms[h].used) {
        if (w->ms[h].key == idx) return &w->ms[h].v;
        h = (h + 1) & mask;
    }
    return NULL;
}

static int ms_insert(Walk *w, uint32_t idx, Val v);

static int ms_resize(Walk *w, size_t cap) {
    MEnt *old = w->ms;
    size_t oldcap = w->mscap;
    MEnt *ms = (MEnt *)PyMem_RawCalloc(cap, sizeof(MEnt));
    if (ms == NULL) { PyErr_NoMemory(); return -1; }
    w->ms = ms;
    w->mscap = cap;
    w->mscount = 0;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].used) continue;
        uint32_t key = old[i].key;
        if (key < w->mdcap) { w->md[key] = old[i].v; continue; }
        ms_insert(w, key, old[i].v);  /* cannot fail: capacity was just made */
    }
    PyMem_RawFree(old);
    return 0;
}

static int ms_insert(Walk *w, uint32_t idx, Val v) {
    if ((w->mscount + 1) * 2 > w->mscap) {
        if (ms_resize(w, w->mscap ? w->mscap * 2 : 64) < 0) return -1;
    }
    size_t mask = w->mscap - 1;
    size_t h = ((size_t)idx * 0x9E3779B97F4A7C15ull) & mask;
    while (w->ms[h].used) h = (h + 1) & mask;
    w->ms[h].used = 1;
    w->ms[h].key = idx;
    w->ms[h].v = v;
    w->mscount++;
    return 0;
}

/* memo[idx] = v (v's reference is copied: the caller keeps its own). */
static int memo_put(Walk *w, uint32_t idx, const Val *v) {
    if (idx < w->mdcap && w->md[idx].tag == T_EMPTY && w->mscount == 0) {  /* the common case: a new index */
        w->md[idx] = *v;
        vinc(v);
        w->mcount++;
        return 0;
    }
    Val *slot = memo_find(w, idx);
    if (slot != NULL) {
        Val old = *slot;
        *slot = *v;
        vinc(slot);
        vdec(&old);
        return 0;
    }
    if (idx >= w->mdcap && (size_t)idx < 2 * w->mcount + 4096) {
        size_t cap = w->mdcap ? w->mdcap * 2 : 256;
        while (cap <= idx) cap *= 2;
        Val *md = (Val *)PyMem_RawRealloc(w->md, cap * sizeof(Val));
        if (md == NULL) { PyErr_NoMemory(); return -1; }
        hint_huge(md, cap * sizeof(Val));
        memset(md + w->mdcap, 0, (cap - w->mdcap) * sizeof(Val));
        w->md = md;
        w->mdcap = cap;
        if (w->mscount && ms_resize(w, w->mscap) < 0) return -1;  /* move sparse keys now in range */
    }
    Val copy = *v;
    if (idx < w->mdcap) {
        w->md[idx] = copy;
    } else if (ms_insert(w, idx, copy) < 0) {
        return -1;
    }
    vinc(v);
    w->mcount++;
    return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* calls into Python                                                                                */

static PyObject *helper(int which, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    PyObject *args = Py_VaBuildValue(fmt, ap);
    va_end(ap);
    if (args == NULL) return NULL;
    if (!PyTuple_Check(args)) {
        PyObject *t = PyTuple_Pack(1, args);
        Py_DECREF(args);
        if (t == NULL) return NULL;
        args = t;
    }
    PyObject *r = PyObject_Call(H[which], args, NULL);
    Py_DECREF(args);
    return r;
}

/* walker._flag(rule, message, offset=offset[, severity=CRITICAL]) */
static int flag(Walk *w, const char *rule, int critical, int64_t offset, const char *fmt, ...) {
    if (walk_bound(w) < 0) return -1;
    va_list ap;
    va_start(ap, fmt);
    PyObject *msg = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    if (msg == NULL) return -1;
    PyObject *args = Py_BuildValue("(sN)", rule, msg);
    if (args == NULL) return -1;
    PyObject *kw = PyDict_New();
    PyObject *off = PyLong_FromLongLong(offset);
    if (kw == NULL || off == NULL || PyDict_SetItem(kw, s_offset, off) < 0 ||
        (critical && PyDict_SetItem(kw, s_severity, H[H_CRITICAL]) < 0)) {
        Py_XDECREF(kw); Py_XDECREF(off); Py_DECREF(args);
        return -1;
    }
    Py_DECREF(off);
    PyObject *r = PyObject_Call(w->m_flag, args, kw);
    Py_DECREF(args);
    Py_DECREF(kw);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return 0;
}

/* Push the result of a helper (a new reference, or NULL on error). */
static int push_result(Walk *w, PyObject *r) {
    if (r == NULL) return -1;
    if (stk_grow(w, 1) < 0) { Py_DECREF(r); return -1; }
    w->stk[w->sp++] = val_obj(w, r);
    return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* the loop                                                                                         */

/* A key the native dict/set paths take as is: plain scalars a file cannot make share a hash at load (str, bytes,
   None, bools, ints below 2**61 - 1 in absolute value: their hash is themselves). Floats and larger ints go to the
   Python helpers, which count them by hash first (engine/collisions.py, red team R12-2) -- as the Python loop's
   may_collide() test does, so both engines count the same keys at the same opcode. */
#define HASH_MODULUS ((int64_t)(((uint64_t)1 << 61) - 1))
static inline int simple_key(const Val *v) {
    if (v->tag == T_INT) return v->u.i > -HASH_MODULUS && v->u.i < HASH_MODULUS;
    return v->tag >= T_NONE && v->tag <= T_ASTR && v->tag != T_FLOAT;
}

/* Readline as engine/machine.py's _readline: the line before the next b"\n"; at the end of the data, the
   rest minus its last byte (how the pure-Python unpickler reads it). Returns the position after it. */
static int64_t readline(Walk *w, int64_t pos, int64_t *ls, int64_t *ll) {
    int64_t n = (int64_t)w->n;
    const unsigned char *nl = NULL;
    if (pos < n) nl = (const unsigned char *)memchr(w->buf + pos, '\n', (size_t)(n - pos));
    if (nl != NULL) {
        *ls = pos;
        *ll = (int64_t)(nl - (w->buf + pos));
    } else {
        *ls = pos;
        *ll = (n - 1 > pos) ? (n - 1 - pos) : 0;
    }
    return pos + *ll + 1;
}

static PyObject *line_bytes(Walk *w, int64_t ls, int64_t ll) {
    if (ll == 0) return PyBytes_FromStringAndSize("", 0);
    return PyBytes_FromStringAndSize((const char *)w->buf + ls, (Py_ssize_t)ll);
}


/* Pop the current frame into a new node of `kind` (items moved). */
static int frame_to_node(Walk *w, int kind, size_t base) {
    Py_ssize_t id = node_new(w, kind);
    if (id < 0) return -1;
    size_t count = w->sp - base;
    if (node_extend(w, (size_t)id, w->stk + base, count) < 0) return -1;
    w->sp = base;
    w->stk[w->sp++] = val_node((size_t)id);
    return 0;
}

static void drop_range(Walk *w, size_t from, size_t to) {
    for (size_t i = from; i < to; i++) vdec(&w->stk[i]);
}

/* Items of the frame above the last mark, popped with the mark (the caller owns their references). */
static int pop_mark(Walk *w, int64_t start, size_t *base) {
    if (w->nmarks == 0) return raise_parse(start, "MARK not found");
    *base = w->marks[--w->nmarks];
    return 0;
}

/* target[...] op items through the Python helper (exact Python semantics for anything not native). */
static int slow_mutation(Walk *w, int which, Val *target, Val *items, size_t count) {
    PyObject *t = mat(w, target);
    if (t == NULL) return -1;
    PyObject *seq = mat_seq(w, items, count, 0);
    if (seq == NULL) { Py_DECREF(t); return -1; }
    PyObject *r = helper(which, "(OOOL)", w->walker, t, seq, (long long)w->start);
    Py_DECREF(t);
    Py_DECREF(seq);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return 0;
}

/* APPEND(S) items to target (stack[base-1]); items are stack[base:sp]. */
static int do_appends(Walk *w, size_t tpos, size_t base, int single) {
    Val *target = &w->stk[tpos];
    size_t count = w->sp - base;
    if (target->tag == T_NODE && w->nodes[target->u.node].kind == K_LIST) {
        size_t id = (size_t)target->u.node;
        if (w->nodes[id].summarised && w->nodes[id].obj == NULL) {
            /* a list handed to BUILD is frozen: it becomes the exact list, and the append goes there */
            PyObject *o = mat(w, target);
            if (o == NULL) return -1;
            Py_DECREF(o);
        }
        if (w->nodes[id].obj == NULL) {
            if (node_extend(w, id, w->stk + base, count) < 0) return -1;
            w->sp = base;
            return 0;
        }
        PyObject *lst = w->nodes[id].obj;
        for (size_t i = base; i < w->sp; i++) {
            PyObject *o = mat(w, &w->stk[i]);
            if (o == NULL) return -1;
            int rc = PyList_Append(lst, o);
            Py_DECREF(o);
            if (rc < 0) return -1;
        }
        drop_range(w, base, w->sp);
        w->sp = base;
        return 0;
    }
    int rc;
    if (single) {
        PyObject *t = mat(w, target);
        if (t == NULL) return -1;
        PyObject *v = mat(w, &w->stk[base]);
        if (v == NULL) { Py_DECREF(t); return -1; }
        PyObject *r = helper(H_APPEND, "(OOOL)", w->walker, t, v, (long long)w->start);
        Py_DECREF(t); Py_DECREF(v);
        rc = r == NULL ? -1 : 0;
        Py_XDECREF(r);
    } else {
        rc = slow_mutation(w, H_APPENDS, target, w->stk + base, count);
    }
    drop_range(w, base, w->sp);
    w->sp = base;
    return rc;
}

static int do_setitems(Walk *w, size_t tpos, size_t base, int single) {
    Val *target = &w->stk[tpos];
    size_t count = w->sp - base;
    int simple = 1;
    for (size_t i = base; i < w->sp; i += 2) {
        if (!simple_key(&w->stk[i])) { simple = 0; break; }
    }
    if (simple && target->tag == T_NODE && w->nodes[target->u.node].kind == K_DICT) {
        size_t id = (size_t)target->u.node;
        size_t pairs = count / 2;
        if (w->nodes[id].obj == NULL) {
            if (node_extend(w, id, w->stk + base, pairs * 2) < 0) return -1;
            if (count & 1) vdec(&w->stk[w->sp - 1]);  /* zip() drops an odd last key */
            w->sp = base;
            return 0;
        }
        PyObject *d = w->nodes[id].obj;
        for (size_t i = 0; i < pairs; i++) {
            PyObject *k = mat(w, &w->stk[base + 2 * i]);
            if (k == NULL) return -1;
            PyObject *v = mat(w, &w->stk[base + 2 * i + 1]);
            if (v == NULL) { Py_DECREF(k); return -1; }
            int rc = PyDict_SetItem(d, k, v);
            Py_DECREF(k); Py_DECREF(v);
            if (rc < 0) return -1;
        }
        drop_range(w, base, w->sp);
        w->sp = base;
        return 0;
    }
    int rc;
    if (single) {
        PyObject *t = mat(w, target);
        if (t == NULL) return -1;
        PyObject *k = mat(w, &w->stk[base]);
        PyObject *v = k ? mat(w, &w->stk[base + 1]) : NULL;
        PyObject *r = NULL;
        if (v != NULL) r = helper(H_SETITEM, "(OOOOL)", w->walker, t, k, v, (long long)w->start);
        Py_DECREF(t); Py_XDECREF(k); Py_XDECREF(v);
        rc = r == NULL ? -1 : 0;
        Py_XDECREF(r);
    } else {
        rc = slow_mutation(w, H_SETITEMS, target, w->stk + base, count);
    }
    drop_range(w, base, w->sp);
    w->sp = base;
    return rc;
}

static int do_additems(Walk *w, size_t tpos, size_t base) {
    Val *target = &w->stk[tpos];
    size_t count = w->sp - base;
    int simple = 1;
    for (size_t i = base; i < w->sp; i++) {
        if (!simple_key(&w->stk[i])) { simple = 0; break; }
    }
    if (simple && target->tag == T_NODE && w->nodes[target->u.node].kind == K_SET) {
        size_t id = (size_t)target->u.node;
        if (w->nodes[id].obj == NULL) {
            if (node_extend(w, id, w->stk + base, count) < 0) return -1;
            w->sp = base;
            return 0;
        }
        PyObject *s = w->nodes[id].obj;
        for (size_t i = base; i < w->sp; i++) {
            PyObject *o = mat(w, &w->stk[i]);
            if (o == NULL) return -1;
            int rc = PySet_Add(s, o);
            Py_DECREF(o);
            if (rc < 0) return -1;
        }
        drop_range(w, base, w->sp);
        w->sp = base;
        return 0;
    }
    int rc = slow_mutation(w, H_ADDITEMS, target, w->stk + base, count);
    drop_range(w, base, w->sp);
    w->sp = base;
    return rc;
}

/* A value the helper returned, kept native when it is plain and small (no Python object per value). */
static Val val_from_py(Walk *w, PyObject *o) {
    Val v;
    v.len = 0;
    if (o == Py_True) { Py_DECREF(o); v.tag = T_TRUE; return v; }
    if (o == Py_False) { Py_DECREF(o); v.tag = T_FALSE; return v; }
    if (PyLong_CheckExact(o)) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (!overflow && !(x == -1 && PyErr_Occurred())) {
            Py_DECREF(o); v.tag = T_INT; v.u.i = x; return v;
        }
        PyErr_Clear();
    }
    return val_obj(w, o);
}

/* Look up a memo index that a text GET/PUT gave as a Python int: native when in [0, 2**32). */
static int py_index(PyObject *idx, uint32_t *out) {
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(idx, &overflow);
    if (x == -1 && PyErr_Occurred()) return -1;
    if (!overflow && x >= 0 && x <= 0xFFFFFFFFll) { *out = (uint32_t)x; return 1; }
    return 0;
}

static int memo_limit_check(Walk *w) {
    if ((int64_t)memo_len(w) > w->max_memo)
        return raise_limit("SL011", "memo larger than %lld entries", (long long)w->max_memo);
    return 0;
}

static int do_put(Walk *w, PyObject *pyidx, uint32_t idx, int native) {
    /* caller checked the stack is not empty */
    Val *top = &w->stk[w->sp - 1];
    int over;
    if (native) {
        over = (int64_t)idx > w->max_memo;
    } else {
        PyObject *lim = PyLong_FromLongLong(w->max_memo);
        if (lim == NULL) return -1;
        over = PyObject_RichCompareBool(pyidx, lim, Py_GT);
        Py_DECREF(lim);
        if (over < 0) return -1;
    }
    if (over) {
        if (native) {
            if (flag(w, "SL011", 0, w->start, "memo index %lu beyond the limit of %lld", (unsigned long)idx,
                     (long long)w->max_memo) < 0) return -1;
        } else if (flag(w, "SL011", 0, w->start, "memo index %S beyond the limit of %lld", pyidx,
                        (long long)w->max_memo) < 0) {
            return -1;
        }
    }
    if (native) return memo_put(w, idx, top);
    if (w->mexotic == NULL && (w->mexotic = PyDict_New()) == NULL) return -1;
    PyObject *o = mat(w, top);
    if (o == NULL) return -1;
    int rc = PyDict_SetItem(w->mexotic, pyidx, o);
    Py_DECREF(o);
    return rc;
}

static int do_get(Walk *w, PyObject *pyidx, uint32_t idx, int native) {
    if (native) {
        Val *slot = memo_find(w, idx);
        if (slot == NULL) return raise_parse(w->start, "memo index %lu not found", (unsigned long)idx);
        if (stk_grow(w, 1) < 0) return -1;
        slot = memo_find(w, idx);
        w->stk[w->sp] = *slot;
        vinc(&w->stk[w->sp]);
        w->sp++;
        return 0;
    }
    PyObject *o = w->mexotic ? PyDict_GetItemWithError(w->mexotic, pyidx) : NULL;
    if (o == NULL) {
        if (PyErr_Occurred()) return -1;
        return raise_parse(w->start, "memo index %S not found", pyidx);
    }
    Py_INCREF(o);
    return push_result(w, o);
}

static inline int64_t le_int(const unsigned char *p, int k) {
    /* signed little-endian of k <= 8 bytes */
    uint64_t x = 0;
    for (int i = k - 1; i >= 0; i--) x = (x << 8) | p[i];
    if (k > 0 && k < 8 && (p[k - 1] & 0x80)) x |= ~(uint64_t)0 << (8 * k);
    return (int64_t)x;
}

static int periodic_checks(Walk *w) {
    w->res_end = w->start;
    w->res_opcodes = w->count;
    if (w->count > w->budget) return raise_limit("SL010", "more than %lld opcodes", (long long)w->max_opcodes);
    if ((int64_t)(w->sp - frame_base(w)) > w->max_stack)
        return raise_limit("SL012", "stack deeper than %lld", (long long)w->max_stack);
    if (memo_limit_check(w) < 0) return -1;
    PyObject *r = PyObject_CallNoArgs(w->check_time);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return 0;
}

#define NEED(k, fmt) do { if (pos + (int64_t)(k) > n) { w->pos = pos; return raise_data(w, pos, fmt); } } while (0)
#define POP_TO(dst) do { if (w->sp <= frame_base(w)) { w->pos = pos; return raise_pop(); } (dst) = w->stk[--w->sp]; } while (0)
#define PEEK_CHECK() do { if (w->sp <= frame_base(w)) { w->pos = pos; return raise_peek(); } } while (0)
#define FAIL() do { w->pos = pos; return -1; } while (0)
#define PUSH(v) do { w->stk[w->sp++] = (v); } while (0)

static int run_loop(Walk *w) {
    const unsigned char *buf = w->buf;
    const int64_t n = (int64_t)w->n;
    int64_t pos = w->pos;
    for (;;) {
        int64_t start = pos;
        w->start = start;
        if (w->frame_end >= 0) {
            if (start > w->frame_end) {
                /* reading a file, the C unpickler drops a straddling line's in-frame part: CRITICAL */
                int64_t fe = w->frame_end;
                w->frame_end = -1;
                if (flag(w, "SL113", 1, start, "an opcode straddles the end of the FRAME ending at %lld",
                         (long long)fe) < 0) FAIL();
            } else if (start == w->frame_end) {
                w->frame_end = -1;
            }
        }
        if (pos >= n) { w->pos = pos; return raise_data(w, pos, NULL); }
        unsigned char op = buf[pos];
        pos++;
        w->count++;
        if (!(w->count & CHECK_EVERY)) {
            w->pos = pos;
            if (periodic_checks(w) < 0) return -1;
        }
        if (stk_grow(w, 2) < 0) FAIL();
        Val v;
        switch (op) {
        case 0x68: { /* BINGET */
            NEED(1, NULL);
            uint32_t idx = buf[pos];
            Val *slot = memo_find(w, idx);
            if (slot == NULL) {
                w->pos = pos;
                PyObject *key = PyLong_FromUnsignedLong(idx);
                if (key != NULL) { PyErr_SetObject(PyExc_KeyError, key); Py_DECREF(key); }
                return -1;
            }
            v = *slot; vinc(&v); PUSH(v);
            pos++;
            break;
        }
        case 0x94: /* MEMOIZE */
            PEEK_CHECK();
            if (memo_put(w, (uint32_t)memo_len(w), &w->stk[w->sp - 1]) < 0) FAIL();
            break;
        case 0x71: /* BINPUT: memo[data[pos]] = stack[-1] evaluates stack[-1] first */
            PEEK_CHECK();
            NEED(1, NULL);
            if (memo_put(w, buf[pos], &w->stk[w->sp - 1]) < 0) FAIL();
            pos++;
            break;
        case 0x8C: { /* SHORT_BINUNICODE */
            NEED(1, NULL);
            int64_t k = buf[pos];
            pos++;
            if (pos + k > n) { w->pos = pos; return raise_parse(start, "truncated argument"); }
            int valid = utf8_valid(buf + pos, (size_t)k, 1);
            if (!valid) {
                PyObject *o = PyUnicode_DecodeUTF8((const char *)buf + pos, (Py_ssize_t)k, "surrogatepass");
                if (o == NULL) FAIL();
                v = val_obj(w, o);
            } else {
                v.tag = valid == 2 ? T_ASTR : T_USTR; v.len = (uint32_t)k; v.u.off = (uint64_t)pos;
            }
            PUSH(v);
            pos += k;
            break;
        }
        case 0x4B: /* BININT1 */
            NEED(1, NULL);
            v.tag = T_INT; v.u.i = buf[pos]; PUSH(v);
            pos++;
            break;
        case 0x28: /* MARK */
            if (w->nmarks == w->mcap) {
                size_t cap = w->mcap ? w->mcap * 2 : 64;
                size_t *marks = (size_t *)PyMem_RawRealloc(w->marks, cap * sizeof(size_t));
                if (marks == NULL) { PyErr_NoMemory(); FAIL(); }
                w->marks = marks; w->mcap = cap;
            }
            w->marks[w->nmarks++] = w->sp;
            if ((int64_t)w->nmarks > w->max_marks) {
                w->pos = pos;
                return raise_limit("SL012", "more than %lld nested MARKs", (long long)w->max_marks);
            }
            break;
        case 0x65: { /* APPENDS */
            size_t base = 0;
            if (pop_mark(w, start, &base) < 0) FAIL();
            if (base <= frame_base(w)) { w->pos = pos; drop_range(w, base, w->sp); w->sp = base; return raise_peek(); }
            if (do_appends(w, base - 1, base, 0) < 0) FAIL();
            break;
        }
        case 0x75: { /* SETITEMS */
            size_t base = 0;
            if (pop_mark(w, start, &base) < 0) FAIL();
            if (base <= frame_base(w)) { w->pos = pos; drop_range(w, base, w->sp); w->sp = base; return raise_peek(); }
            if (do_setitems(w, base - 1, base, 0) < 0) FAIL();
            break;
        }
        case 0x5D: case 0x7D: case 0x8F: { /* EMPTY_LIST, EMPTY_DICT, EMPTY_SET */
            Py_ssize_t id = node_new(w, op == 0x5D ? K_LIST : op == 0x7D ? K_DICT : K_SET);
            if (id < 0) FAIL();
            PUSH(val_node((size_t)id));
            break;
        }
        case 0x29: { /* EMPTY_TUPLE */
            Py_ssize_t id = node_new(w, K_TUPLE);
            if (id < 0) FAIL();
            PUSH(val_node((size_t)id));
            break;
        }
        case 0x85: case 0x86: case 0x87: { /* TUPLE1, TUPLE2, TUPLE3 */
            size_t k = (size_t)(op - 0x84);
            size_t base = frame_base(w);
            /* Python pops the last items first, then reads stack[-1] */
            if (w->sp - base < k) { w->pos = pos; return k == 1 || w->sp - base == k - 1 ? raise_peek() : raise_pop(); }
            Py_ssize_t id = node_new(w, K_TUPLE);
            if (id < 0) FAIL();
            if (node_extend(w, (size_t)id, w->stk + w->sp - k, k) < 0) FAIL();
            w->sp -= k;
            PUSH(val_node((size_t)id));
            break;
        }
        case 0x4A: /* BININT */
            NEED(4, "<i");
            v.tag = T_INT; v.u.i = (int32_t)((uint32_t)buf[pos] | ((uint32_t)buf[pos + 1] << 8) |
                                             ((uint32_t)buf[pos + 2] << 16) | ((uint32_t)buf[pos + 3] << 24));
            PUSH(v);
            pos += 4;
            break;
        case 0x4D: /* BININT2 */
            NEED(2, "<H");
            v.tag = T_INT; v.u.i = (int64_t)buf[pos] | ((int64_t)buf[pos + 1] << 8);
            PUSH(v);
            pos += 2;
            break;
        case 0x47: { /* BINFLOAT */
            NEED(8, ">d");
            uint64_t bits = 0;
            for (int i = 0; i < 8; i++) bits = (bits << 8) | buf[pos + i];
            double d;
            memcpy(&d, &bits, 8);
            if (d != d) {  /* NaN: one object, so that memo copies stay identical (dict keys) */
                PyObject *o = PyFloat_FromDouble(d);
                if (o == NULL) FAIL();
                v = val_obj(w, o);
            } else {
                v.tag = T_FLOAT; v.u.d = d;
            }
            PUSH(v);
            pos += 8;
            break;
        }
        case 0x4E: v.tag = T_NONE; PUSH(v); break;
        case 0x88: v.tag = T_TRUE; PUSH(v); break;
        case 0x89: v.tag = T_FALSE; PUSH(v); break;
        case 0x52: { /* REDUCE */
            if (walk_bound(w) < 0) FAIL();
            Val args;
            POP_TO(args);
            if (w->sp <= frame_base(w)) { vdec(&args); w->pos = pos; return raise_peek(); }
            PyObject *a = mat(w, &args);
            vdec(&args);
            if (a == NULL) FAIL();
            PyObject *f = mat(w, &w->stk[w->sp - 1]);
            if (f == NULL) { Py_DECREF(a); FAIL(); }
            PyObject *r = PyObject_CallFunction(w->m_call, "OOL", f, a, (long long)start);
            Py_DECREF(f); Py_DECREF(a);
            if (r == NULL) FAIL();
            vdec(&w->stk[w->sp - 1]);
            w->stk[w->sp - 1] = val_obj(w, r);
            break;
        }
        case 0x62: { /* BUILD */
            if (walk_bound(w) < 0) FAIL();
            Val state;
            POP_TO(state);
            PyObject *fe = PyLong_FromLongLong(w->frame_end);  /* BUILD hooks check raw data follows the frame */
            if (fe == NULL || PyObject_SetAttr(w->walker, s_frame_end, fe) < 0) {
                Py_XDECREF(fe); vdec(&state); FAIL();
            }
            Py_DECREF(fe);
            if (w->sp <= frame_base(w)) { vdec(&state); w->pos = pos; return raise_peek(); }
            /* Long lists of plain scalars in the state reach the semantics as PlainLists, unless the object's
               BUILD hook reads the state (the semantics decide: walker._state_summary_ok). */
            int summarise = 0;
            if (state.tag == T_NODE && w->m_summary_ok != NULL) {
                Val *iv = &w->stk[w->sp - 1];
                if (iv->tag == T_OBJ) {
                    PyObject *ok = PyObject_CallOneArg(w->m_summary_ok, iv->u.o);
                    if (ok == NULL) { vdec(&state); FAIL(); }
                    summarise = PyObject_IsTrue(ok);
                    Py_DECREF(ok);
                    if (summarise < 0) { vdec(&state); FAIL(); }
                } else {
                    summarise = 1;  /* not an object: _build keeps no state */
                }
            }
            w->summarise = summarise;
            PyObject *s = mat(w, &state);
            w->summarise = 0;
            vdec(&state);
            if (s == NULL) FAIL();
            PyObject *inst = mat(w, &w->stk[w->sp - 1]);
            if (inst == NULL) { Py_DECREF(s); FAIL(); }
            w->pos = pos;
            PyObject *r = PyObject_CallFunction(w->m_build, "OOLL", inst, s, (long long)start, (long long)pos);
            Py_DECREF(inst); Py_DECREF(s);
            if (r == NULL) FAIL();
            long long resumed = PyLong_AsLongLong(r);
            Py_DECREF(r);
            if (resumed == -1 && PyErr_Occurred()) FAIL();
            if (resumed < 0) {
                PyErr_SetString(PyExc_SystemError, "a BUILD hook returned a negative offset");
                FAIL();
            }
            if (resumed != pos) w->frame_end = -1;
            pos = resumed;
            break;
        }
        case 0x81: case 0x92: { /* NEWOBJ, NEWOBJ_EX */
            if (walk_bound(w) < 0) FAIL();
            Val kwargs, args, cls;
            kwargs.tag = T_EMPTY;
            if (op == 0x92) POP_TO(kwargs);
            if (w->sp <= frame_base(w)) { vdec(&kwargs); w->pos = pos; return raise_pop(); }
            args = w->stk[--w->sp];
            if (w->sp <= frame_base(w)) { vdec(&kwargs); vdec(&args); w->pos = pos; return raise_pop(); }
            cls = w->stk[--w->sp];
            PyObject *c = mat(w, &cls), *a = c ? mat(w, &args) : NULL;
            PyObject *k = (a && op == 0x92) ? mat(w, &kwargs) : NULL;
            vdec(&kwargs); vdec(&args); vdec(&cls);
            PyObject *r = NULL;
            if (a != NULL && (op == 0x81 || k != NULL)) {
                if (op == 0x81) r = PyObject_CallFunction(w->m_call, "OOLO", c, a, (long long)start, H[H_U_NEW]);
                else r = PyObject_CallFunction(w->m_call, "OOLOO", c, a, (long long)start, H[H_U_NEW], k);
            }
            Py_XDECREF(c); Py_XDECREF(a); Py_XDECREF(k);
            if (push_result(w, r) < 0) FAIL();
            break;
        }
        case 0x93: { /* STACK_GLOBAL */
            Val name, module;
            POP_TO(name);
            if (w->sp <= frame_base(w)) { vdec(&name); w->pos = pos; return raise_pop(); }
            module = w->stk[--w->sp];
            PyObject *m = mat(w, &module), *nm = m ? mat(w, &name) : NULL;
            vdec(&module); vdec(&name);
            PyObject *r = NULL;
            if (nm != NULL) r = helper(H_STACK_GLOBAL, "(OOOLO)", w->walker, m, nm, (long long)start, w->res);
            Py_XDECREF(m); Py_XDECREF(nm);
            if (push_result(w, r) < 0) FAIL();
            break;
        }
        case 0x63: case 0x69: { /* GLOBAL, INST */
            int64_t ms, ml, ns, nl;
            pos = readline(w, pos, &ms, &ml);
            pos = readline(w, pos, &ns, &nl);
            PyObject *mb = line_bytes(w, ms, ml), *nb = mb ? line_bytes(w, ns, nl) : NULL;
            if (nb == NULL) { Py_XDECREF(mb); FAIL(); }
            PyObject *r;
            if (op == 0x63) {
                r = helper(H_GLOBAL, "(ONNLO)", w->walker, mb, nb, (long long)start, w->res);
            } else {
                size_t base = 0;
                if (pop_mark(w, start, &base) < 0) { Py_DECREF(mb); Py_DECREF(nb); FAIL(); }
                PyObject *args = mat_seq(w, w->stk + base, w->sp - base, 1);
                drop_range(w, base, w->sp);
                w->sp = base;
                if (args == NULL) { Py_DECREF(mb); Py_DECREF(nb); FAIL(); }
                r = helper(H_INST, "(ONNNLO)", w->walker, mb, nb, args, (long long)start, w->res);
            }
            if (push_result(w, r) < 0) FAIL();
            break;
        }
        case 0x58: { /* BINUNICODE */
            NEED(4, "<I");
            int64_t k = (int64_t)((uint32_t)buf[pos] | ((uint32_t)buf[pos + 1] << 8) |
                                  ((uint32_t)buf[pos + 2] << 16) | ((uint32_t)buf[pos + 3] << 24));
            pos += 4;
            if (pos + k > n) { w->pos = pos; return raise_parse(start, "truncated argument"); }
            int valid = k > MAX_INLINE_LEN ? 0 : utf8_valid(buf + pos, (size_t)k, 1);
            if (!valid) {
                PyObject *o = PyUnicode_DecodeUTF8((const char *)buf + pos, (Py_ssize_t)k, "surrogatepass");
                if (o == NULL) FAIL();
                v = val_obj(w, o);
            } else {
                v.tag = valid == 2 ? T_ASTR : T_USTR; v.len = (uint32_t)k; v.u.off = (uint64_t)pos;
            }
            PUSH(v);
            pos += k;
            break;
        }
        case 0x8D: { /* BINUNICODE8 */
            NEED(8, "<Q");
            uint64_t k = 0;
            for (int i = 7; i >= 0; i--) k = (k << 8) | buf[pos + i];
            pos += 8;
            if (k > (uint64_t)(n - pos)) { w->pos = pos; return raise_parse(start, "truncated argument"); }
            if (k <= (uint64_t)SMALL_BYTES * 16) {
                int valid = utf8_valid(buf + pos, (size_t)k, 1);
                if (!valid) {
                    PyObject *o = PyUnicode_DecodeUTF8((const char *)buf + pos, (Py_ssize_t)k, "surrogatepass");
                    if (o == NULL) FAIL();
                    v = val_obj(w, o);
                } else {
                    v.tag = valid == 2 ? T_ASTR : T_USTR; v.len = (uint32_t)k; v.u.off = (uint64_t)pos;
                }
                PUSH(v);
            } else if (push_result(w, helper(H_OPAQUE, "(s)", "huge string")) < 0) {
                FAIL();
            }
            pos += (int64_t)k;
            break;
        }
        case 0x43: case 0x42: case 0x8E: case 0x96: { /* SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8 */
            uint64_t k = 0;
            if (op == 0x43) {
                NEED(1, NULL);
                k = buf[pos];
                pos += 1;
            } else if (op == 0x42) {
                NEED(4, "<I");
                k = (uint64_t)buf[pos] | ((uint64_t)buf[pos + 1] << 8) | ((uint64_t)buf[pos + 2] << 16) |
                    ((uint64_t)buf[pos + 3] << 24);
                pos += 4;
            } else {
                NEED(8, "<Q");
                for (int i = 7; i >= 0; i--) k = (k << 8) | buf[pos + i];
                pos += 8;
            }
            if (k > (uint64_t)(n - pos)) {
                w->pos = pos;
                return raise_parse(start, "truncated: a %llu-byte payload runs past the end of the data",
                                   (unsigned long long)k);
            }
            if (k <= SMALL_BYTES) {
                v.tag = T_BYTES; v.len = (uint32_t)k; v.u.off = (uint64_t)pos;
                PUSH(v);
            } else if (push_result(w, helper(H_BIG_BYTES, "(LK)", (long long)pos, (unsigned long long)k)) < 0) {
                FAIL();
            }
            pos += (int64_t)k;
            break;
        }
        case 0x72: { /* LONG_BINPUT */
            if (w->sp <= frame_base(w)) { w->pos = pos; return raise_parse(start, "PUT on an empty stack"); }
            NEED(4, "<I");
            uint32_t idx = (uint32_t)buf[pos] | ((uint32_t)buf[pos + 1] << 8) | ((uint32_t)buf[pos + 2] << 16) |
                           ((uint32_t)buf[pos + 3] << 24);
            w->pos = pos;
            if (do_put(w, NULL, idx, 1) < 0) FAIL();
            pos += 4;
            if (memo_limit_check(w) < 0) FAIL();
            break;
        }
        case 0x6A: { /* LONG_BINGET */
            NEED(4, "<I");
            uint32_t idx = (uint32_t)buf[pos] | ((uint32_t)buf[pos + 1] << 8) | ((uint32_t)buf[pos + 2] << 16) |
                           ((uint32_t)buf[pos + 3] << 24);
            w->pos = pos;
            if (do_get(w, NULL, idx, 1) < 0) FAIL();
            pos += 4;
            break;
        }
        case 0x30: /* POP */
            if (w->sp > frame_base(w)) {
                vdec(&w->stk[--w->sp]);
            } else {
                size_t base = 0;
                if (pop_mark(w, start, &base) < 0) FAIL();
            }
            break;
        case 0x31: { /* POP_MARK */
            size_t base = 0;
            if (pop_mark(w, start, &base) < 0) FAIL();
            drop_range(w, base, w->sp);
            w->sp = base;
            break;
        }
        case 0x32: /* DUP */
            PEEK_CHECK();
            v = w->stk[w->sp - 1]; vinc(&v); PUSH(v);
            break;
        case 0x61: { /* APPEND */
            if (w->sp <= frame_base(w)) { w->pos = pos; return raise_pop(); }
            if (w->sp - 1 <= frame_base(w)) { w->pos = pos; vdec(&w->stk[--w->sp]); return raise_peek(); }
            if (do_appends(w, w->sp - 2, w->sp - 1, 1) < 0) FAIL();
            break;
        }
        case 0x73: { /* SETITEM */
            size_t base = frame_base(w);
            if (w->sp - base < 2) {
                w->pos = pos;
                drop_range(w, base, w->sp);
                w->sp = base;
                return raise_pop();
            }
            if (w->sp - base < 3) { w->pos = pos; drop_range(w, base, w->sp); w->sp = base; return raise_peek(); }
            if (do_setitems(w, w->sp - 3, w->sp - 2, 1) < 0) FAIL();
            break;
        }
        case 0x74: case 0x6C: { /* TUPLE, LIST */
            size_t base = 0;
            if (pop_mark(w, start, &base) < 0) FAIL();
            if (frame_to_node(w, op == 0x74 ? K_TUPLE : K_LIST, base) < 0) FAIL();
            break;
        }
        case 0x64: { /* DICT */
            size_t base = 0;
            if (pop_mark(w, start, &base) < 0) FAIL();
            int simple = 1;
            for (size_t i = base; i < w->sp; i += 2) {
                if (!simple_key(&w->stk[i])) { simple = 0; break; }
            }
            if (simple) {
                size_t count = w->sp - base;
                if (count & 1) { vdec(&w->stk[w->sp - 1]); w->sp--; }
                if (frame_to_node(w, K_DICT, base) < 0) FAIL();
            } else {
                PyObject *items = mat_seq(w, w->stk + base, w->sp - base, 0);
                drop_range(w, base, w->sp);
                w->sp = base;
                if (items == NULL) FAIL();
                if (push_result(w, helper(H_MAKE_DICT, "(ONL)", w->walker, items, (long long)start)) < 0) FAIL();
            }
            break;
        }
        case 0x90: { /* ADDITEMS */
            size_t base = 0;
            if (pop_mark(w, start, &base) < 0) FAIL();
            if (base <= frame_base(w)) { w->pos = pos; drop_range(w, base, w->sp); w->sp = base; return raise_peek(); }
            if (do_additems(w, base - 1, base) < 0) FAIL();
            break;
        }
        case 0x91: { /* FROZENSET */
            size_t base = 0;
            if (pop_mark(w, start, &base) < 0) FAIL();
            int simple = 1;
            for (size_t i = base; i < w->sp; i++) {
                if (!simple_key(&w->stk[i])) { simple = 0; break; }
            }
            if (simple) {
                if (frame_to_node(w, K_FROZENSET, base) < 0) FAIL();
            } else {
                PyObject *items = mat_seq(w, w->stk + base, w->sp - base, 0);
                drop_range(w, base, w->sp);
                w->sp = base;
                if (items == NULL) FAIL();
                if (push_result(w, helper(H_MAKE_FROZENSET, "(ONL)", w->walker, items, (long long)start)) < 0) FAIL();
            }
            break;
        }
        case 0x95: { /* FRAME */
            NEED(8, "<Q");
            uint64_t flen = 0;
            for (int i = 7; i >= 0; i--) flen = (flen << 8) | buf[pos + i];
            pos += 8;
            w->pos = pos;
            if (w->frame_end >= 0 && start < w->frame_end) {
                if (flag(w, "SL113", 0, start, "a FRAME starts inside the previous frame") < 0) FAIL();
            }
            if (flen > (uint64_t)(n - pos)) {
                if (flag(w, "SL113", 0, start, "FRAME of %llu bytes runs past the end of the data",
                         (unsigned long long)flen) < 0) FAIL();
                flen = (uint64_t)(n - pos);
            }
            w->frame_end = flen ? pos + (int64_t)flen : -1;
            break;
        }
        case 0x80: { /* PROTO */
            NEED(1, NULL);
            int proto = buf[pos];
            pos++;
            if (proto > 5) { w->pos = pos; return raise_parse(start, "unsupported pickle protocol %d", proto); }
            w->pos = pos;
            if (start != w->stream_start) {
                if (flag(w, "SL114", 0, start, "PROTO opcode in the middle of a stream") < 0) FAIL();
            }
            PyObject *p = PyLong_FromLong(proto);
            if (p == NULL) FAIL();
            int rc = PyObject_SetAttrString(w->res, "protocol", p);
            Py_DECREF(p);
            if (rc < 0) FAIL();
            break;
        }
        case 0x2E: { /* STOP */
            w->pos = pos;
            if (memo_limit_check(w) < 0) return -1;
            size_t base = frame_base(w);
            if (w->sp > base) {
                w->root = w->stk[--w->sp];
            } else {
                w->root.tag = T_NONE;
            }
            w->has_root = 1;
            w->res_end = pos;
            w->complete = 1;
            w->res_opcodes = w->count;
            if (w->frame_end >= 0 && pos != w->frame_end) {
                if (flag(w, "SL113", 0, start, "STOP before the end of the current FRAME") < 0) return -1;
            }
            return 0;
        }
        case 0x55: case 0x54: { /* SHORT_BINSTRING, BINSTRING */
            int64_t k;
            if (op == 0x55) {
                NEED(1, NULL);
                k = buf[pos];
                pos += 1;
            } else {
                NEED(4, "<i");
                k = (int32_t)((uint32_t)buf[pos] | ((uint32_t)buf[pos + 1] << 8) |
                              ((uint32_t)buf[pos + 2] << 16) | ((uint32_t)buf[pos + 3] << 24));
                pos += 4;
                if (k < 0) { w->pos = pos; return raise_parse(start, "BINSTRING pickle has negative byte count"); }
            }
            if (pos + k > n) { w->pos = pos; return raise_parse(start, "truncated argument"); }
            if (k > MAX_INLINE_LEN) {
                PyObject *o = PyUnicode_DecodeLatin1((const char *)buf + pos, (Py_ssize_t)k, NULL);
                if (o == NULL) FAIL();
                v = val_obj(w, o);
            } else {
                v.tag = T_LSTR; v.len = (uint32_t)k; v.u.off = (uint64_t)pos;
            }
            PUSH(v);
            pos += k;
            break;
        }
        case 0x8A: case 0x8B: { /* LONG1, LONG4 */
            int64_t k;
            if (op == 0x8A) {
                NEED(1, NULL);
                k = buf[pos];
                pos += 1;
            } else {
                NEED(4, "<i");
                k = (int32_t)((uint32_t)buf[pos] | ((uint32_t)buf[pos + 1] << 8) |
                              ((uint32_t)buf[pos + 2] << 16) | ((uint32_t)buf[pos + 3] << 24));
                pos += 4;
                if (k < 0) { w->pos = pos; return raise_parse(start, "LONG pickle has negative byte count"); }
            }
            if (pos + k > n) { w->pos = pos; return raise_parse(start, "truncated argument"); }
            if (op == 0x8B && k > 4096) {
                if (push_result(w, helper(H_OPAQUE, "(s)", "huge int")) < 0) FAIL();
            } else if (k <= 8) {
                v.tag = T_INT; v.u.i = le_int(buf + pos, (int)k);
                PUSH(v);
            } else {
                PyObject *r = helper(H_LONG_FROM_BYTES, "(y#)", (const char *)buf + pos, (Py_ssize_t)k);
                if (r == NULL) FAIL();
                PUSH(val_obj(w, r));
            }
            pos += k;
            break;
        }
        case 0x6F: { /* OBJ */
            if (walk_bound(w) < 0) FAIL();
            size_t base = 0;
            if (pop_mark(w, start, &base) < 0) FAIL();
            if (w->sp == base) { w->pos = pos; return raise_parse(start, "OBJ without a class"); }
            PyObject *cls = mat(w, &w->stk[base]);
            PyObject *args = cls ? mat_seq(w, w->stk + base + 1, w->sp - base - 1, 1) : NULL;
            drop_range(w, base, w->sp);
            w->sp = base;
            PyObject *r = NULL;
            if (args != NULL) r = PyObject_CallFunction(w->m_call, "OOL", cls, args, (long long)start);
            Py_XDECREF(cls); Py_XDECREF(args);
            if (push_result(w, r) < 0) FAIL();
            break;
        }
        case 0x82: case 0x83: case 0x84: { /* EXT1, EXT2, EXT4 */
            int width = op == 0x82 ? 1 : op == 0x83 ? 2 : 4;
            if (pos + width > n) { w->pos = pos; return raise_parse(start, "truncated argument"); }
            uint32_t code = 0;
            for (int i = width - 1; i >= 0; i--) code = (code << 8) | buf[pos + i];
            pos += width;
            w->pos = pos;
            if (push_result(w, helper(H_EXT, "(OkL)", w->walker, (unsigned long)code, (long long)start)) < 0) FAIL();
            break;
        }
        case 0x51: { /* BINPERSID */
            Val pid;
            POP_TO(pid);
            PyObject *p = mat(w, &pid);
            vdec(&pid);
            if (p == NULL) FAIL();
            if (push_result(w, helper(H_BINPERSID, "(ONO)", w->walker, p, w->res)) < 0) FAIL();
            break;
        }
        case 0x50: { /* PERSID */
            int64_t ls, ll;
            pos = readline(w, pos, &ls, &ll);
            PyObject *line = line_bytes(w, ls, ll);
            if (line == NULL) FAIL();
            w->pos = pos;
            if (push_result(w, helper(H_PERSID, "(ONLO)", w->walker, line, (long long)start, w->res)) < 0) FAIL();
            break;
        }
        case 0x67: case 0x70: { /* GET, PUT (text) */
            int64_t ls, ll;
            pos = readline(w, pos, &ls, &ll);
            w->pos = pos;
            const unsigned char *p = buf + ls;
            int64_t dl = ll;
            const unsigned char *nul = ll ? (const unsigned char *)memchr(p, 0, (size_t)ll) : NULL;
            if (nul != NULL) dl = nul - p;
            int fast = dl >= 1 && dl <= 9;
            uint32_t idx = 0;
            for (int64_t i = 0; fast && i < dl; i++) {
                if (p[i] < '0' || p[i] > '9') fast = 0;
                else idx = idx * 10 + (uint32_t)(p[i] - '0');
            }
            PyObject *pyidx = NULL;
            int native = 1;
            if (!fast) {
                PyObject *line = line_bytes(w, ls, ll);
                if (line == NULL) FAIL();
                pyidx = helper(H_TEXT_INDEX, "(NL)", line, (long long)start);
                if (pyidx == NULL) FAIL();
                native = py_index(pyidx, &idx);
                if (native < 0) { Py_DECREF(pyidx); FAIL(); }
            }
            int rc;
            if (op == 0x67) {
                rc = do_get(w, pyidx, idx, native);
            } else if (w->sp <= frame_base(w)) {
                rc = raise_parse(start, "PUT on an empty stack");
            } else {
                rc = do_put(w, pyidx, idx, native);
                if (rc == 0) rc = memo_limit_check(w);
            }
            Py_XDECREF(pyidx);
            if (rc < 0) FAIL();
            break;
        }
        case 0x49: { /* INT (text) */
            int64_t ls, ll;
            pos = readline(w, pos, &ls, &ll);
            w->pos = pos;
            /* Fast path: "0" or -?[1-9][0-9]{0,17} and nothing else on the line, which machine.c_load_int reads
               as that decimal int (strtol base 0 with no octal/hex prefix, within a C long, not a 2-char 0/1).
               Anything else (whitespace, NULs, signs, prefixes, bools, big values) goes to that function. */
            const unsigned char *p = buf + ls;
            int fast = 0;
            int64_t x = 0;
            if (ll == 1 && p[0] == '0') {
                fast = 1;
            } else if (ll >= 1) {
                int64_t i = p[0] == '-' ? 1 : 0;
                int64_t digits = ll - i;
                if (digits >= 1 && digits <= 18 && p[i] >= '1' && p[i] <= '9') {
                    fast = 1;
                    for (; i < ll; i++) {
                        if (p[i] < '0' || p[i] > '9') { fast = 0; break; }
                        x = x * 10 + (p[i] - '0');
                    }
                    if (p[0] == '-') x = -x;
                }
            }
            if (fast) {
                v.tag = T_INT; v.u.i = x;
                PUSH(v);
            } else {
                PyObject *line = line_bytes(w, ls, ll);
                if (line == NULL) FAIL();
                PyObject *r = helper(H_TEXT_INT, "(NL)", line, (long long)start);
                if (r == NULL) FAIL();
                PUSH(val_from_py(w, r));
            }
            break;
        }
        case 0x4C: case 0x46: case 0x53: case 0x56: { /* LONG, FLOAT, STRING, UNICODE (text) */
            int64_t ls, ll;
            pos = readline(w, pos, &ls, &ll);
            w->pos = pos;
            PyObject *line = line_bytes(w, ls, ll);
            if (line == NULL) FAIL();
            int which = op == 0x4C ? H_TEXT_LONG : op == 0x46 ? H_TEXT_FLOAT : op == 0x53 ? H_TEXT_STRING
                                                                                           : H_TEXT_UNICODE;
            PyObject *r = helper(which, "(NL)", line, (long long)start);
            if (r == NULL) FAIL();
            PUSH(val_from_py(w, r));
            break;
        }
        case 0x97: /* NEXT_BUFFER */
            w->pos = pos;
            if (push_result(w, helper(H_NEXT_BUFFER, "(OL)", w->walker, (long long)start)) < 0) FAIL();
            break;
        case 0x98: /* READONLY_BUFFER */
            if (w->sp <= frame_base(w)) { w->pos = pos; return raise_parse(start, "READONLY_BUFFER on an empty stack"); }
            break;
        default: {
            char hex[8];
            snprintf(hex, sizeof hex, "%02x", op);
            w->pos = pos;
            return raise_parse(start, "invalid opcode 0x%s", hex);
        }
        }
    }
}

/* ------------------------------------------------------------------------------------------------ */
/* the Walk type                                                                                    */

static void walk_free_state(Walk *w) {
    for (size_t i = 0; i < w->sp; i++) vdec(&w->stk[i]);
    PyMem_RawFree(w->stk); w->stk = NULL; w->sp = w->scap = 0;
    PyMem_RawFree(w->marks); w->marks = NULL; w->nmarks = w->mcap = 0;
    if (w->any_obj) {
        for (size_t i = 0; i < w->mdcap; i++) vdec(&w->md[i]);
    }
    PyMem_RawFree(w->md); w->md = NULL; w->mdcap = 0;
    for (size_t i = 0; i < w->mscap; i++) if (w->ms[i].used) vdec(&w->ms[i].v);
    PyMem_RawFree(w->ms); w->ms = NULL; w->mscap = w->mscount = 0;
    w->mcount = 0;
    Py_CLEAR(w->mexotic);
}

static void walk_free_nodes(Walk *w) {
    for (size_t i = 0; i < w->nn; i++) {
        Node *nd = &w->nodes[i];
        if (w->any_obj) {
            for (uint32_t j = 0; j < nd->len; j++) vdec(&nd->items[j]);
        }
        if (nd->heap) PyMem_RawFree(nd->items);
        if (nd->summarised) { PyObject *p = (PyObject *)(void *)nd->items; nd->items = NULL; Py_DECREF(p); }
        Py_CLEAR(nd->obj);
    }
    PyMem_RawFree(w->nodes); w->nodes = NULL; w->nn = w->ncap = 0;
    while (w->chunks) { Chunk *c = w->chunks; w->chunks = c->next; PyMem_RawFree(c); }
    w->acur = NULL; w->aleft = 0;
}

static void release_view(Walk *w) {
    if (w->have_view) { PyBuffer_Release(&w->view); w->have_view = 0; }
    w->buf = NULL;
}

static void walk_dealloc(Walk *w) {
    release_view(w);
    walk_free_state(w);
    if (w->has_root) vdec(&w->root);
    walk_free_nodes(w);
    Py_XDECREF(w->walker); Py_XDECREF(w->data); Py_XDECREF(w->res); Py_XDECREF(w->check_time);
    Py_XDECREF(w->m_call); Py_XDECREF(w->m_build); Py_XDECREF(w->m_flag); Py_XDECREF(w->m_summary_ok);
    Py_XDECREF(w->bound_type);
    Py_TYPE(w)->tp_free((PyObject *)w);
}

static PyObject *walk_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"walker", "data", "res", "pos", "budget", "max_opcodes", "max_memo", "max_marks",
                             "max_stack", "check_time", NULL};
    PyObject *walker, *data, *res, *check_time;
    long long pos, budget, max_opcodes, max_memo, max_marks, max_stack;
    if (!configured) { PyErr_SetString(PyExc_RuntimeError, "safeload.engine._native is not configured"); return NULL; }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOLLLLLLO", kwlist, &walker, &data, &res, &pos, &budget,
                                     &max_opcodes, &max_memo, &max_marks, &max_stack, &check_time))
        return NULL;
    if (pos < 0) { PyErr_SetString(PyExc_ValueError, "negative start offset"); return NULL; }
    Walk *w = (Walk *)type->tp_alloc(type, 0);
    if (w == NULL) return NULL;
    Py_INCREF(walker); w->walker = walker;
    Py_INCREF(data); w->data = data;
    Py_INCREF(res); w->res = res;
    Py_INCREF(check_time); w->check_time = check_time;
    if (walk_bind(w) < 0) { Py_DECREF(w); return NULL; }
    w->stream_start = w->pos = w->start = w->res_end = pos;
    w->frame_end = -1;
    w->budget = budget < 0 ? 0 : (uint64_t)budget;
    w->max_opcodes = max_opcodes;
    w->max_memo = max_memo;
    w->max_marks = max_marks;
    w->max_stack = max_stack;
    return (PyObject *)w;
}

static int sync_result(Walk *w) {
    PyObject *end = PyLong_FromLongLong(w->res_end);
    PyObject *ops = PyLong_FromUnsignedLongLong(w->res_opcodes);
    int rc = -1;
    if (end != NULL && ops != NULL && PyObject_SetAttrString(w->res, "end", end) == 0 &&
        PyObject_SetAttrString(w->res, "opcodes", ops) == 0 &&
        PyObject_SetAttrString(w->res, "complete", w->complete ? Py_True : Py_False) == 0)
        rc = 0;
    Py_XDECREF(end);
    Py_XDECREF(ops);
    return rc;
}

static PyObject *walk_run(Walk *w, PyObject *Py_UNUSED(ignored)) {
    if (w->ran) { PyErr_SetString(PyExc_RuntimeError, "a Walk runs once"); return NULL; }
    w->ran = 1;
    if (PyObject_GetBuffer(w->data, &w->view, PyBUF_SIMPLE) < 0) return NULL;
    w->have_view = 1;
    w->buf = (const unsigned char *)w->view.buf;
    w->n = w->view.len;
    int rc = run_loop(w);
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    int synced = sync_result(w);
    if (rc < 0) {
        if (synced < 0) PyErr_Clear();
        PyErr_Restore(et, ev, tb);
    } else if (synced < 0) {
        Py_XDECREF(et); Py_XDECREF(ev); Py_XDECREF(tb);
        rc = -1;
    }
    /* the stack and memo are done with; only the containers the root reaches may still be asked for */
    walk_free_state(w);
    release_view(w);
    Py_CLEAR(w->walker); Py_CLEAR(w->res);
    Py_CLEAR(w->m_call); Py_CLEAR(w->m_build); Py_CLEAR(w->m_flag); Py_CLEAR(w->check_time);
    Py_CLEAR(w->m_summary_ok); Py_CLEAR(w->bound_type);
    if (rc < 0) return NULL;
    Py_RETURN_NONE;
}

/* The stream's value, materialised (None before STOP). */
static PyObject *walk_root(Walk *w, PyObject *Py_UNUSED(ignored)) {
    if (!w->has_root) Py_RETURN_NONE;
    if (w->root.tag == T_OBJ || w->root.tag == T_NONE || w->root.tag == T_TRUE || w->root.tag == T_FALSE ||
        w->root.tag == T_INT || w->root.tag == T_FLOAT)
        return mat_scalar(w, &w->root);
    int held = 0;
    if (w->buf == NULL) {
        if (PyObject_GetBuffer(w->data, &w->view, PyBUF_SIMPLE) < 0) return NULL;
        w->have_view = 1;
        w->buf = (const unsigned char *)w->view.buf;
        w->n = w->view.len;
        held = 1;
    }
    PyObject *r = mat(w, &w->root);
    if (held) release_view(w);
    if (r != NULL && w->root.tag == T_NODE) {
        /* the containers are Python objects now: keep the root only */
        Val root = w->root;
        Py_INCREF(r);
        root.tag = T_OBJ;
        root.u.o = r;
        w->root = root;
        walk_free_nodes(w);
    }
    return r;
}

/* True when the stream's value holds nothing but plain data (no name, call or load-time value anywhere
   in the walk): the end-of-stream escape walk could find nothing in it. */
static PyObject *walk_root_is_plain(Walk *w, PyObject *Py_UNUSED(ignored)) {
    if (!w->has_root) Py_RETURN_TRUE;
    if (w->root.tag == T_OBJ) {
        PyTypeObject *t = Py_TYPE(w->root.u.o);
        if (t == &PyLong_Type || t == &PyFloat_Type || t == &PyUnicode_Type || t == &PyBytes_Type ||
            t == &PyBool_Type || w->root.u.o == Py_None)
            Py_RETURN_TRUE;
        Py_RETURN_FALSE;
    }
    if (w->root.tag != T_NODE) Py_RETURN_TRUE;
    return PyBool_FromLong(!w->impure);
}

/* The stream's value if it is an int (no materialisation of containers), else None. */
static PyObject *walk_root_int(Walk *w, PyObject *Py_UNUSED(ignored)) {
    if (w->has_root && w->root.tag == T_INT) return PyLong_FromLongLong(w->root.u.i);
    if (w->has_root && w->root.tag == T_OBJ && PyLong_CheckExact(w->root.u.o)) {
        Py_INCREF(w->root.u.o);
        return w->root.u.o;
    }
    Py_RETURN_NONE;
}

static PyObject *walk_get_start(Walk *w, void *c) { (void)c; return PyLong_FromLongLong(w->start); }
static PyObject *walk_get_pos(Walk *w, void *c) { (void)c; return PyLong_FromLongLong(w->pos); }
static PyObject *walk_get_frame_end(Walk *w, void *c) { (void)c; return PyLong_FromLongLong(w->frame_end); }
static PyObject *walk_get_has_root(Walk *w, void *c) { (void)c; return PyBool_FromLong(w->has_root); }

static PyMethodDef walk_methods[] = {
    {"run", (PyCFunction)walk_run, METH_NOARGS, "Walk the stream (once)."},
    {"root", (PyCFunction)walk_root, METH_NOARGS, "The stream's value, materialised."},
    {"root_is_plain", (PyCFunction)walk_root_is_plain, METH_NOARGS, "Whether the value is plain data only."},
    {"root_int", (PyCFunction)walk_root_int, METH_NOARGS, "The value if it is an int, else None."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef walk_getset[] = {
    {"start", (getter)walk_get_start, NULL, "offset of the last opcode started", NULL},
    {"pos", (getter)walk_get_pos, NULL, "read position when the walk stopped", NULL},
    {"frame_end", (getter)walk_get_frame_end, NULL, "end of the current FRAME or -1", NULL},
    {"has_root", (getter)walk_get_has_root, NULL, "whether STOP was reached", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject WalkType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "safeload.engine._native.Walk",
    .tp_basicsize = sizeof(Walk),
    .tp_dealloc = (destructor)walk_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One pickle stream walked natively (see engine/native.py).",
    .tp_methods = walk_methods,
    .tp_getset = walk_getset,
    .tp_new = walk_new,
};

/* ------------------------------------------------------------------------------------------------ */
/* PlainList: a list of plain scalars standing for the exact list in BUILD state                   */

/* The exact list (built on first use, then kept: the same object every time). */
static PyObject *plainlist_build(PlainList *p) {
    if (p->list != NULL) { Py_INCREF(p->list); return p->list; }
    if (p->items == NULL && p->len) {
        PyErr_SetString(PyExc_SystemError, "native pickle engine: a PlainList lost its items");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(p->data, &view, PyBUF_SIMPLE) < 0) return NULL;
    PyObject *lst = PyList_New((Py_ssize_t)p->len);
    if (lst == NULL) { PyBuffer_Release(&view); return NULL; }
    for (uint32_t i = 0; i < p->len; i++) {
        PyObject *o = scalar_obj((const unsigned char *)view.buf, view.len, &p->items[i]);
        if (o == NULL) { Py_DECREF(lst); PyBuffer_Release(&view); return NULL; }
        PyList_SET_ITEM(lst, (Py_ssize_t)i, o);
    }
    PyBuffer_Release(&view);
    for (uint32_t i = 0; i < p->len; i++) vdec(&p->items[i]);
    PyMem_RawFree(p->items);
    p->items = NULL;
    p->list = lst;
    Py_INCREF(lst);
    return lst;
}

static void plainlist_dealloc(PlainList *p) {
    if (p->items != NULL) {
        for (uint32_t i = 0; i < p->len; i++) vdec(&p->items[i]);
        PyMem_RawFree(p->items);
    }
    Py_XDECREF(p->data);
    Py_XDECREF(p->list);
    PyObject_Free(p);
}

static PyObject *plainlist_tolist(PlainList *p, PyObject *Py_UNUSED(ignored)) { return plainlist_build(p); }

static PyObject *plainlist_get_built(PlainList *p, void *c) {
    (void)c;
    if (p->list == NULL) Py_RETURN_NONE;
    Py_INCREF(p->list);
    return p->list;
}

static Py_ssize_t plainlist_len(PlainList *p) {
    return p->list != NULL ? PyList_GET_SIZE(p->list) : (Py_ssize_t)p->len;
}

static PyObject *plainlist_item(PlainList *p, Py_ssize_t i) {
    PyObject *lst = plainlist_build(p);
    if (lst == NULL) return NULL;
    PyObject *r = PySequence_GetItem(lst, i);
    Py_DECREF(lst);
    return r;
}

static PyObject *plainlist_iter(PlainList *p) {
    PyObject *lst = plainlist_build(p);
    if (lst == NULL) return NULL;
    PyObject *r = PyObject_GetIter(lst);
    Py_DECREF(lst);
    return r;
}

static PyObject *plainlist_repr(PlainList *p) {
    PyObject *lst = plainlist_build(p);
    if (lst == NULL) return NULL;
    PyObject *r = PyObject_Repr(lst);
    Py_DECREF(lst);
    return r;
}

/* Unhashable, with the list's message (a dict key holding one fails as it would holding the list). */
static Py_hash_t plainlist_hash(PyObject *self) {
    (void)self;
    PyErr_SetString(PyExc_TypeError, "unhashable type: 'list'");
    return -1;
}

static PyObject *plainlist_richcompare(PyObject *a, PyObject *b, int op) {
    PyObject *la = Py_TYPE(a) == &PlainListType ? plainlist_build((PlainList *)a) : (Py_INCREF(a), a);
    if (la == NULL) return NULL;
    PyObject *lb = Py_TYPE(b) == &PlainListType ? plainlist_build((PlainList *)b) : (Py_INCREF(b), b);
    if (lb == NULL) { Py_DECREF(la); return NULL; }
    PyObject *r = PyObject_RichCompare(la, lb, op);
    Py_DECREF(la);
    Py_DECREF(lb);
    return r;
}

static PySequenceMethods plainlist_as_sequence = {
    .sq_length = (lenfunc)plainlist_len,
    .sq_item = (ssizeargfunc)plainlist_item,
};

static PyMethodDef plainlist_methods[] = {
    {"tolist", (PyCFunction)plainlist_tolist, METH_NOARGS, "The exact list (built once, then the same object)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef plainlist_getset[] = {
    {"built", (getter)plainlist_get_built, NULL, "the exact list if it was built, else None", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject PlainListType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "safeload.engine._native.PlainList",
    .tp_basicsize = sizeof(PlainList),
    .tp_dealloc = (destructor)plainlist_dealloc,
    .tp_repr = (reprfunc)plainlist_repr,
    .tp_as_sequence = &plainlist_as_sequence,
    .tp_hash = plainlist_hash,
    .tp_iter = (getiterfunc)plainlist_iter,
    .tp_richcompare = plainlist_richcompare,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A list of plain scalars (str, bytes, int, float, bool, None) in BUILD state, standing for the list "
              "(engine/values.py PlainList).",
    .tp_methods = plainlist_methods,
    .tp_getset = plainlist_getset,
};

/* ------------------------------------------------------------------------------------------------ */
/* module                                                                                           */

static PyObject *mod_configure(PyObject *self, PyObject *ns) {
    (void)self;
    PyObject *refs[H_COUNT];
    for (int i = 0; i < H_COUNT; i++) {
        refs[i] = PyObject_GetAttrString(ns, helper_names[i]);
        if (refs[i] == NULL) {
            for (int j = 0; j < i; j++) Py_DECREF(refs[j]);
            return NULL;
        }
    }
    for (int i = 0; i < H_COUNT; i++) { Py_XSETREF(H[i], refs[i]); }
    configured = 1;
    Py_RETURN_NONE;
}

static PyObject *mod_utf8_valid(PyObject *self, PyObject *arg) {
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    int ok = utf8_valid((const unsigned char *)view.buf, (size_t)view.len, 1);
    PyBuffer_Release(&view);
    return PyBool_FromLong(ok != 0);
}


/* ------------------------------------------------------------------------------------------------ */
/* the end-of-stream escape walk (engine/facts.py trace_escapes), the same algorithm in C             */

typedef struct { uintptr_t *keys; size_t cap, count; } PtrSet;

static int ptrset_add(PtrSet *s, uintptr_t key) {  /* 1 added, 0 present, -1 error */
    if ((s->count + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        uintptr_t *keys = (uintptr_t *)PyMem_RawCalloc(cap, sizeof(uintptr_t));
        if (keys == NULL) { PyErr_NoMemory(); return -1; }
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->keys[i]) continue;
            size_t h = (size_t)((s->keys[i] >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
            while (keys[h]) h = (h + 1) & (cap - 1);
            keys[h] = s->keys[i];
        }
        PyMem_RawFree(s->keys);
        s->keys = keys;
        s->cap = cap;
    }
    size_t h = (size_t)((key >> 4) * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
    while (s->keys[h]) {
        if (s->keys[h] == key) return 0;
        h = (h + 1) & (s->cap - 1);
    }
    s->keys[h] = key;
    s->count++;
    return 1;
}

/* trace_escapes(roots, record, check, Global, Call, INVOKE, PASSED): see engine/facts.py. Values are walked
   depth-first in the same order (a stack; items pushed in iteration order), containers once per kind of
   root (stored / call argument), `check` every 65536 containers. */
static PyObject *mod_trace_escapes(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *roots, *record, *check, *global_t, *call_t, *invoke, *passed;
    if (!PyArg_ParseTuple(args, "OOOOOOO", &roots, &record, &check, &global_t, &call_t, &invoke, &passed))
        return NULL;
    PyObject *seq = PySequence_Fast(roots, "roots must be a sequence");
    if (seq == NULL) return NULL;
    PtrSet seen[2] = {{0}, {0}};
    PyObject **todo = NULL;
    size_t ntodo = 0, cap = 0;
    unsigned long long steps = 0;
    PyObject *owner_name = PyUnicode_InternFromString("owner");
    int ok = owner_name != NULL;
    Py_ssize_t nroots = ok ? PySequence_Fast_GET_SIZE(seq) : 0;
    for (Py_ssize_t r = 0; ok && r < nroots; r++) {
        PyObject *root = PySequence_Fast_GET_ITEM(seq, r);
        if (!PyTuple_Check(root) || PyTuple_GET_SIZE(root) != 3) {
            PyErr_SetString(PyExc_TypeError, "an escape root is (value, how, as_arg)");
            ok = 0;
            break;
        }
        PyObject *how = PyTuple_GET_ITEM(root, 1);
        int as_arg = PyObject_IsTrue(PyTuple_GET_ITEM(root, 2));
        if (as_arg < 0) { ok = 0; break; }
        PyObject *first = PyTuple_GET_ITEM(root, 0);
        Py_INCREF(first);
        if (cap == 0) {
            cap = 1024;
            todo = (PyObject **)PyMem_RawMalloc(cap * sizeof(PyObject *));
            if (todo == NULL) { Py_DECREF(first); PyErr_NoMemory(); ok = 0; break; }
        }
        todo[ntodo++] = first;
        while (ok && ntodo) {
            PyObject *value = todo[--ntodo];
            PyTypeObject *kind = Py_TYPE(value);
            if ((PyObject *)kind == global_t) {
                PyObject *res = PyObject_CallFunctionObjArgs(record, value, invoke, how, NULL);
                if (res == NULL) ok = 0; else Py_DECREF(res);
            } else if ((PyObject *)kind == call_t) {
                if (as_arg) {
                    PyObject *owner = PyObject_GetAttr(value, owner_name);
                    if (owner == NULL) ok = 0;
                    else {
                        if (owner != Py_None) {
                            PyObject *res = PyObject_CallFunctionObjArgs(record, owner, passed, how, NULL);
                            if (res == NULL) ok = 0; else Py_DECREF(res);
                        }
                        Py_DECREF(owner);
                    }
                }
            } else if (kind == &PlainListType) {
                /* the list it stands for: once built it may hold anything appended later; until then only
                   plain scalars, where the walk finds nothing */
                PyObject *lst = ((PlainList *)value)->list;
                if (lst != NULL) { Py_INCREF(lst); todo[ntodo++] = lst; }  /* a slot: `value` was just popped */
            } else if (kind == &PyList_Type || kind == &PyTuple_Type || kind == &PySet_Type ||
                       kind == &PyFrozenSet_Type || kind == &PyDict_Type) {
                int added = ptrset_add(&seen[as_arg ? 1 : 0], (uintptr_t)value);
                if (added < 0) ok = 0;
                if (added == 1) {
                    /* Push the items that the walk acts on (names, objects, containers), in iteration order;
                       anything else is a no-op when popped, so skipping it keeps the order of what is recorded. */
                    Py_ssize_t count = kind == &PyDict_Type ? 2 * PyDict_GET_SIZE(value) : PyObject_Length(value);
                    if (count < 0) ok = 0;
                    if (ok && ntodo + (size_t)count > cap) {
                        size_t ncap = cap * 2;
                        while (ncap < ntodo + (size_t)count) ncap *= 2;
                        PyObject **t = (PyObject **)PyMem_RawRealloc(todo, ncap * sizeof(PyObject *));
                        if (t == NULL) { PyErr_NoMemory(); ok = 0; } else { todo = t; cap = ncap; }
                    }
#define TRACE_PUSH(item) do { PyObject *it_ = (item); PyTypeObject *k_ = Py_TYPE(it_); \
    if ((PyObject *)k_ == global_t || (PyObject *)k_ == call_t || k_ == &PyList_Type || k_ == &PyTuple_Type || \
        k_ == &PySet_Type || k_ == &PyFrozenSet_Type || k_ == &PyDict_Type || k_ == &PlainListType) { \
        if (ntodo >= cap) { PyErr_SetString(PyExc_RuntimeError, "a container changed size during the escape walk"); ok = 0; } \
        else { Py_INCREF(it_); todo[ntodo++] = it_; } } } while (0)
                    if (!ok) {
                    } else if (kind == &PyDict_Type) {
                        Py_ssize_t ppos = 0;
                        PyObject *k, *v;
                        while (ok && PyDict_Next(value, &ppos, &k, &v)) { TRACE_PUSH(k); TRACE_PUSH(v); }
                    } else if (kind == &PyList_Type || kind == &PyTuple_Type) {
                        for (Py_ssize_t i = 0; ok && i < count && i < PySequence_Fast_GET_SIZE(value); i++)
                            TRACE_PUSH(PySequence_Fast_GET_ITEM(value, i));
                    } else {
                        PyObject *it = PyObject_GetIter(value), *item;
                        if (it == NULL) ok = 0;
                        while (ok && it != NULL && (item = PyIter_Next(it)) != NULL) { TRACE_PUSH(item); Py_DECREF(item); }
                        if (ok && PyErr_Occurred()) ok = 0;
                        Py_XDECREF(it);
                    }
#undef TRACE_PUSH
                    steps++;
                    if (ok && !(steps & 0xFFFF)) {
                        PyObject *res = PyObject_CallNoArgs(check);
                        if (res == NULL) ok = 0; else Py_DECREF(res);
                    }
                }
            }
            Py_DECREF(value);
        }
    }
    while (ntodo) Py_DECREF(todo[--ntodo]);
    PyMem_RawFree(todo);
    PyMem_RawFree(seen[0].keys);
    PyMem_RawFree(seen[1].keys);
    Py_XDECREF(owner_name);
    Py_DECREF(seq);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef mod_methods[] = {
    {"trace_escapes", mod_trace_escapes, METH_VARARGS, "engine/facts.py trace_escapes, in C."},
    {"configure", mod_configure, METH_O, "Set the Python helpers (engine/native.py)."},
    {"utf8_valid", mod_utf8_valid, METH_O, "Whether bytes decode as UTF-8 with surrogatepass (tests)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {
    PyModuleDef_HEAD_INIT, "_native", "safeload's native pickle opcode loop (see engine/native.py).", -1,
    mod_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) {
    if (PyType_Ready(&WalkType) < 0) return NULL;
    s_call = PyUnicode_InternFromString("_call");
    s_build = PyUnicode_InternFromString("_build");
    s_flag = PyUnicode_InternFromString("_flag");
    s_frame_end = PyUnicode_InternFromString("frame_end");
    s_offset = PyUnicode_InternFromString("offset");
    s_severity = PyUnicode_InternFromString("severity");
    s_summary_ok = PyUnicode_InternFromString("_state_summary_ok");
    if (!s_call || !s_build || !s_flag || !s_frame_end || !s_offset || !s_severity || !s_summary_ok) return NULL;
    if (PyType_Ready(&PlainListType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moddef);
    if (m == NULL) return NULL;
    Py_INCREF(&WalkType);
    if (PyModule_AddObject(m, "Walk", (PyObject *)&WalkType) < 0) {
        Py_DECREF(&WalkType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&PlainListType);
    if (PyModule_AddObject(m, "PlainList", (PyObject *)&PlainListType) < 0) {
        Py_DECREF(&PlainListType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
