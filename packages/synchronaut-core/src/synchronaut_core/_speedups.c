/* synchronaut_core._speedups: the per-call hot paths in C.
 *
 * Optional: the package works the same without it (set SYNCHRONAUT_PURE_PYTHON=1 to
 * check). Each function here handles only the cases a pure-Python version handles
 * with a few attribute tests -- a sync function called from sync code, a coroutine
 * function called inside a running asyncio loop -- and hands every other case, with
 * its arguments untouched, to the Python implementation it shadows. Semantics live
 * in Python (_call.py, _decorator.py); this file only saves the cost of packing
 * *args/**kwargs and running the tests in bytecode -- and, for decorated methods, of
 * binding: ``obj.method`` is made here as cheaply as a bound method (_Wrapper._get is
 * the specification).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <structmember.h>

#define CO_ASYNC_MASK (CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR)
#define N_OPTIONS 4

/* Installed once by setup() (strong references, kept for the life of the process). */
static PyObject *get_running_loop = NULL; /* asyncio._get_running_loop */
static PyObject *py_call_any = NULL;      /* the pure-Python call_any */
static PyObject *py_resolve = NULL;       /* _resolve_coroutine(result, func) */
static PyObject *py_close = NULL;         /* _close_returned_if_unstarted(result) */

static PyObject *str_trio, *str_sniffio, *str_thread_local, *str_name, *str_call;
static PyObject *option_names[N_OPTIONS];

/* 1 if a running asyncio loop belongs to this thread, 0 if not, -1 on error. */
static int
in_asyncio_loop(void)
{
    PyObject *loop = PyObject_CallNoArgs(get_running_loop);
    if (loop == NULL) {
        return -1;
    }
    int running = loop != Py_None;
    Py_DECREF(loop);
    return running;
}

/* 1 if this thread is inside trio.run, 0 if not, -1 on error. Same test as
 * _detect._trio_running: Trio names itself in sniffio's thread-local for the whole
 * run; without sniffio (never with a real Trio) answer 1 so Python decides. */
static int
trio_running(void)
{
    PyObject *modules = PyImport_GetModuleDict();
    int has_trio = PyDict_Contains(modules, str_trio);
    if (has_trio <= 0) {
        return has_trio;
    }
    PyObject *sniffio = PyDict_GetItemWithError(modules, str_sniffio);
    if (sniffio == NULL) {
        return PyErr_Occurred() ? -1 : 1;
    }
    PyObject *local = PyObject_GetAttr(sniffio, str_thread_local);
    if (local == NULL) {
        return -1;
    }
    PyObject *name = PyObject_GetAttr(local, str_name);
    Py_DECREF(local);
    if (name == NULL) {
        return -1;
    }
    int running = PyUnicode_Check(name) && PyUnicode_Compare(name, str_trio) == 0;
    Py_DECREF(name);
    return running;
}

/* The code flags of a plain function or a bound method of one; -1 otherwise. */
static int
function_flags(PyObject *func)
{
    if (PyFunction_Check(func)) {
        return ((PyCodeObject *)PyFunction_GET_CODE(func))->co_flags;
    }
    if (PyMethod_Check(func) && PyFunction_Check(PyMethod_GET_FUNCTION(func))) {
        return ((PyCodeObject *)PyFunction_GET_CODE(PyMethod_GET_FUNCTION(func)))->co_flags;
    }
    return -1;
}

/* Could ``obj`` be a coroutine to run? A native one, or an object of a type with
 * __await__ (every collections.abc.Coroutine has one): Python decides which of those
 * are run (_call._resolve_coroutine); any other value is returned as it is. */
static int
may_be_awaitable(PyObject *obj)
{
    if (PyCoro_CheckExact(obj)) {
        return 1;
    }
    PyAsyncMethods *am = Py_TYPE(obj)->tp_as_async;
    return am != NULL && am->am_await != NULL;
}

/* A sync callable returned what may be a coroutine: let Python decide and run it. */
static PyObject *
resolve(PyObject *result, PyObject *func)
{
    if (result != NULL && may_be_awaitable(result)) {
        PyObject *resolved = PyObject_CallFunctionObjArgs(py_resolve, result, func, NULL);
        if (resolved == NULL) {
            /* Ctrl-C can land on the resolver's entry, before anything owns the
             * coroutine: have it closed if it never started, keeping the error. */
            PyObject *type, *value, *traceback;
            PyErr_Fetch(&type, &value, &traceback);
            PyObject *closed = PyObject_CallOneArg(py_close, result);
            if (closed == NULL) {
                PyErr_WriteUnraisable(py_close);
            }
            Py_XDECREF(closed);
            PyErr_Restore(type, value, traceback);
        }
        Py_DECREF(result);
        return resolved;
    }
    return result;
}

/* 1 if kwnames holds one of call_any's own options, 0 if not, -1 on error. */
static int
has_option(PyObject *kwnames)
{
    if (kwnames == NULL) {
        return 0;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, i);
        for (int j = 0; j < N_OPTIONS; j++) {
            if (name == option_names[j]) {
                return 1;
            }
            int eq = PyUnicode_Compare(name, option_names[j]);
            if (eq == 0) {
                return 1;
            }
            if (eq == -1 && PyErr_Occurred()) {
                return -1;
            }
        }
    }
    return 0;
}

static PyObject *
call_any(PyObject *module, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs < 1 || py_call_any == NULL) {
        goto python;
    }
    int option = has_option(kwnames);
    if (option != 0) {
        if (option < 0) {
            return NULL;
        }
        goto python;
    }
    PyObject *func = args[0];
    int flags = function_flags(func);
    if (flags == -1) {
        goto python;
    }
    int in_loop = in_asyncio_loop();
    if (in_loop < 0) {
        return NULL;
    }
    if (flags & CO_ASYNC_MASK) {
        int in_trio = in_loop ? 0 : trio_running();
        if (in_trio < 0) {
            return NULL;
        }
        if (in_loop || in_trio) {
            /* asyncio/Trio -> async: the coroutine (or async generator) itself. */
            return PyObject_Vectorcall(func, args + 1, nargs - 1, kwnames);
        }
        goto python;
    }
    if (in_loop) {
        goto python;
    }
    int trio = trio_running();
    if (trio != 0) {
        if (trio < 0) {
            return NULL;
        }
        goto python;
    }
    /* sync -> sync: a direct call. */
    return resolve(PyObject_Vectorcall(func, args + 1, nargs - 1, kwnames), func);
python:
    return PyObject_Vectorcall(py_call_any, args, nargsf, kwnames);
}

/* --- DirectCall: the base type of synchronaut's decorated functions -------------- *
 * A wrapper, or a bound form of one (obj.method: unbound and target set, called as
 * unbound(target, *args)); see _decorator._Wrapper and _decorator._Bound. */

enum { KIND_NONE = 0, KIND_SYNC = 1, KIND_ASYNC = 2 };

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *direct_func; /* _direct_func: the function, when no option is set */
    int kind;              /* _fast_kind: which hot path applies (KIND_*) */
    PyObject *dict;
    PyObject *weakreflist;
    /* Binding (the descriptor protocol), as _decorator._Wrapper._get does it: */
    PyObject *bound_type; /* _bound_type: the class of this wrapper's bound forms, or NULL */
    char bind_class;      /* _bind_class: bind to the class (a classmethod), not the instance */
    PyObject *unbound;    /* __func__ of a bound form: the wrapper it was bound from */
    PyObject *target;     /* __self__ of a bound form: the instance (or class) it is bound to */
    /* The fields of _decorator._Wrapper, kept here (not in __slots__) so that its
     * subclasses add none: see adopt(). */
    PyObject *func;         /* _func */
    PyObject *options;      /* _options */
    PyObject *options_here; /* _options_here */
} DirectCall;

/* The DirectCall type (set once by PyInit__speedups): _bound_type must subclass it. */
static PyTypeObject *direct_call_type = NULL;

/* A call of a decorated function. The two hot paths -- a decorated def called from
 * sync code, a decorated async def called inside asyncio -- are taken here; every
 * other case goes to the type's Python ``_call(*args, **kwargs)``, unchanged. */
static PyObject *
direct_call_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                       PyObject *kwnames)
{
    DirectCall *self = (DirectCall *)callable;
    PyObject *func = self->direct_func;
    if (func != NULL && func != Py_None && self->kind != KIND_NONE) {
        int in_loop = in_asyncio_loop();
        if (in_loop < 0) {
            return NULL;
        }
        if (self->kind == KIND_ASYNC) {
            int in_trio = in_loop ? 0 : trio_running();
            if (in_trio < 0) {
                return NULL;
            }
            if (in_loop || in_trio) {
                /* asyncio/Trio -> async: the coroutine, awaited in the caller's task. */
                return PyObject_Vectorcall(func, args, nargsf, kwnames);
            }
        }
        if (self->kind == KIND_SYNC && !in_loop) {
            int trio = trio_running();
            if (trio < 0) {
                return NULL;
            }
            if (!trio) {
                /* sync -> sync: a direct call (func is kept alive by self). */
                Py_INCREF(func);
                PyObject *result = resolve(PyObject_Vectorcall(func, args, nargsf, kwnames), func);
                Py_DECREF(func);
                return result;
            }
        }
    }
    PyObject *method = PyObject_GetAttr(callable, str_call);
    if (method == NULL) {
        return NULL;
    }
    PyObject *result = PyObject_Vectorcall(method, args, nargsf, kwnames);
    Py_DECREF(method);
    return result;
}

/* A call of a bound form: the wrapper it was bound from, called with the instance (or
 * class) first -- what a bound method does (same argument-shifting as CPython's). */
static PyObject *
bound_call_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                      PyObject *kwnames)
{
    DirectCall *self = (DirectCall *)callable;
    PyObject *func = self->unbound, *target = self->target;
    if (func == NULL || target == NULL) {
        PyErr_SetString(PyExc_TypeError, "a synchronaut bound form without its function");
        return NULL;
    }
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t total = nargs + (kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames));
    /* The wrapper's own C call when its type calls through it (Python subclasses of
     * DirectCall do not all carry the vectorcall flag: this saves packing the
     * arguments into a tuple); a type with a Python __call__ goes the generic way. */
    vectorcallfunc call = PyObject_TypeCheck(func, direct_call_type)
                                  && Py_TYPE(func)->tp_call == PyVectorcall_Call
                              ? ((DirectCall *)func)->vectorcall
                              : NULL;
    PyObject *result;
    if (nargsf & PY_VECTORCALL_ARGUMENTS_OFFSET) {
        /* The caller lent us the slot before args[0]: put the target there. */
        PyObject **shifted = (PyObject **)args - 1;
        PyObject *saved = shifted[0];
        shifted[0] = target;
        result = call != NULL ? call(func, shifted, nargs + 1, kwnames)
                              : PyObject_Vectorcall(func, shifted, nargs + 1, kwnames);
        shifted[0] = saved;
        return result;
    }
    PyObject *small[8];
    PyObject **stack = small;
    if (total + 1 > (Py_ssize_t)(sizeof(small) / sizeof(small[0]))) {
        stack = PyMem_Malloc((size_t)(total + 1) * sizeof(PyObject *));
        if (stack == NULL) {
            return PyErr_NoMemory();
        }
    }
    stack[0] = target;
    if (total > 0) {
        memcpy(stack + 1, args, (size_t)total * sizeof(PyObject *));
    }
    result = call != NULL ? call(func, stack, nargs + 1, kwnames)
                          : PyObject_Vectorcall(func, stack, nargs + 1, kwnames);
    if (stack != small) {
        PyMem_Free(stack);
    }
    return result;
}

/* The descriptor protocol: ``obj.method`` is a bound form of the wrapper (see
 * _Wrapper._get, the specification). A bound form holds two references and nothing
 * else, so attribute access costs what building a bound method costs. */
static PyObject *
direct_call_descr_get(PyObject *self_, PyObject *obj, PyObject *type)
{
    DirectCall *self = (DirectCall *)self_;
    PyObject *target;
    if (self->bound_type == NULL) {
        return Py_NewRef(self_); /* a staticmethod, a callable object, a bound form */
    }
    if (obj == Py_None) {
        obj = NULL;
    }
    if (type == Py_None) {
        type = NULL;
    }
    if (self->bind_class) {
        target = type != NULL ? type : (obj != NULL ? (PyObject *)Py_TYPE(obj) : NULL);
        if (target == NULL) {
            PyErr_SetString(PyExc_TypeError, "__get__(None, None) is invalid");
            return NULL;
        }
    }
    else if (obj == NULL) {
        return Py_NewRef(self_); /* looked up on the class: the wrapper itself */
    }
    else {
        target = obj;
    }
    PyTypeObject *bound_type = (PyTypeObject *)self->bound_type;
    DirectCall *bound = (DirectCall *)bound_type->tp_alloc(bound_type, 0);
    if (bound == NULL) {
        return NULL;
    }
    bound->vectorcall = bound_call_vectorcall;
    bound->unbound = Py_NewRef(self_);
    bound->target = Py_NewRef(target);
    return (PyObject *)bound;
}

static PyObject *
direct_call_get_bound_type(DirectCall *self, void *closure)
{
    return Py_NewRef(self->bound_type != NULL ? self->bound_type : Py_None);
}

static int
direct_call_set_bound_type(DirectCall *self, PyObject *value, void *closure)
{
    if (value == NULL || value == Py_None) {
        Py_CLEAR(self->bound_type);
        return 0;
    }
    /* Checked here, once: the descriptor allocates instances of it. */
    if (!PyType_Check(value) || !PyType_IsSubtype((PyTypeObject *)value, direct_call_type)) {
        PyErr_SetString(PyExc_TypeError, "_bound_type must be None or a subclass of DirectCall");
        return -1;
    }
    Py_XSETREF(self->bound_type, Py_NewRef(value));
    return 0;
}

static PyObject *
direct_call_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    DirectCall *self = (DirectCall *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->vectorcall = direct_call_vectorcall;
    }
    return (PyObject *)self;
}

static int
direct_call_traverse(DirectCall *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->direct_func);
    Py_VISIT(self->dict);
    Py_VISIT(self->bound_type);
    Py_VISIT(self->unbound);
    Py_VISIT(self->target);
    Py_VISIT(self->func);
    Py_VISIT(self->options);
    Py_VISIT(self->options_here);
    return 0;
}

static int
direct_call_clear(DirectCall *self)
{
    Py_CLEAR(self->direct_func);
    Py_CLEAR(self->dict);
    Py_CLEAR(self->bound_type);
    Py_CLEAR(self->unbound);
    Py_CLEAR(self->target);
    Py_CLEAR(self->func);
    Py_CLEAR(self->options);
    Py_CLEAR(self->options_here);
    return 0;
}

/* Also the deallocator of the Python subclasses adopt() was given (bound forms). */
static void
direct_call_dealloc(DirectCall *self)
{
    PyTypeObject *type = Py_TYPE(self);
    if (type->tp_finalize != NULL && type->tp_dealloc == (destructor)direct_call_dealloc) {
        /* A __del__ given to an adopted subclass: run it, as subtype_dealloc would. */
        if (PyObject_CallFinalizerFromDealloc((PyObject *)self) < 0) {
            return; /* resurrected */
        }
    }
    PyObject_GC_UnTrack(self);
    Py_TRASHCAN_BEGIN(self, direct_call_dealloc)
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    direct_call_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
    Py_TRASHCAN_END
}

static PyMemberDef direct_call_members[] = {
    {"_direct_func", T_OBJECT, offsetof(DirectCall, direct_func), 0,
     "The wrapped function when calls may take the direct path, else None."},
    {"_fast_kind", T_INT, offsetof(DirectCall, kind), 0,
     "Which hot path applies: 0 none, 1 a def from sync code, 2 an async def in asyncio."},
    {"_bind_class", T_BOOL, offsetof(DirectCall, bind_class), 0,
     "Whether bound forms bind to the class (a classmethod) rather than the instance."},
    {"__func__", T_OBJECT_EX, offsetof(DirectCall, unbound), READONLY,
     "A bound form's wrapper (unset on a wrapper that is not bound)."},
    {"__self__", T_OBJECT_EX, offsetof(DirectCall, target), READONLY,
     "The instance (or class) a bound form is bound to (unset on a wrapper that is not bound)."},
    {"_func", T_OBJECT_EX, offsetof(DirectCall, func), 0, "The wrapped function."},
    {"_options", T_OBJECT_EX, offsetof(DirectCall, options), 0, "The decorator's CallOptions."},
    {"_options_here", T_OBJECT_EX, offsetof(DirectCall, options_here), 0,
     "The options less an out-of-process executor, or None (see _Wrapper._arrived)."},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(DirectCall, vectorcall), READONLY},
    {"__dictoffset__", T_PYSSIZET, offsetof(DirectCall, dict), READONLY},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(DirectCall, weakreflist), READONLY},
    {NULL},
};

static PyGetSetDef direct_call_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict},
    {"_bound_type", (getter)direct_call_get_bound_type, (setter)direct_call_set_bound_type,
     "The class of this wrapper's bound forms; None: access never binds.", NULL},
    {NULL},
};

static PyType_Slot direct_call_slots[] = {
    {Py_tp_doc, "Base type of synchronaut's decorated functions: their hot paths in C."},
    {Py_tp_new, direct_call_new},
    {Py_tp_dealloc, direct_call_dealloc},
    {Py_tp_traverse, direct_call_traverse},
    {Py_tp_clear, direct_call_clear},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_descr_get, direct_call_descr_get},
    {Py_tp_members, direct_call_members},
    {Py_tp_getset, direct_call_getset},
    {0, NULL},
};

static PyType_Spec direct_call_spec = {
    "synchronaut_core._speedups.DirectCall",
    sizeof(DirectCall),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    direct_call_slots,
};

/* adopt(cls): deallocate instances of ``cls`` -- a Python subclass of DirectCall that
 * adds no field -- with DirectCall's own deallocator instead of the generic one of
 * Python classes (subtype_dealloc), which costs as much again as making a bound form:
 * bound forms are made and dropped on every ``obj.method``. */
static PyObject *
adopt(PyObject *module, PyObject *cls)
{
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, direct_call_type)) {
        PyErr_SetString(PyExc_TypeError, "adopt() takes a subclass of DirectCall");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)cls;
    if (!(type->tp_flags & Py_TPFLAGS_HEAPTYPE)
        || type->tp_basicsize != direct_call_type->tp_basicsize || type->tp_itemsize != 0
        || type->tp_dictoffset != direct_call_type->tp_dictoffset
        || type->tp_weaklistoffset != direct_call_type->tp_weaklistoffset
        || type->tp_del != NULL) {
        /* Fields of its own (__slots__) or a legacy finalizer: the generic one is right. */
        PyErr_Format(PyExc_TypeError, "%s adds fields to DirectCall: it cannot be adopted",
                     type->tp_name);
        return NULL;
    }
    type->tp_dealloc = (destructor)direct_call_dealloc;
    Py_RETURN_NONE;
}

/* call_any's definition; its docstring is set by setup() from the Python one. */
static PyMethodDef call_any_def = {
    "call_any", (PyCFunction)(void (*)(void))call_any, METH_FASTCALL | METH_KEYWORDS, NULL,
};

/* setup(get_running_loop, python_call_any, resolve_coroutine, close_if_unstarted, doc)
 * -> the C call_any, documented with `doc` and belonging to module synchronaut_core. */
static PyObject *
setup(PyObject *module, PyObject *args)
{
    PyObject *loop_fn, *fallback, *resolver, *closer;
    const char *doc;
    if (!PyArg_ParseTuple(args, "OOOOs:setup", &loop_fn, &fallback, &resolver, &closer, &doc)) {
        return NULL;
    }
    if (call_any_def.ml_doc == NULL) {
        /* Kept for the life of the process, like the function object it documents. */
        char *copy = PyMem_RawMalloc(strlen(doc) + 1);
        if (copy == NULL) {
            return PyErr_NoMemory();
        }
        strcpy(copy, doc);
        call_any_def.ml_doc = copy;
    }
    Py_XSETREF(get_running_loop, Py_NewRef(loop_fn));
    Py_XSETREF(py_call_any, Py_NewRef(fallback));
    Py_XSETREF(py_resolve, Py_NewRef(resolver));
    Py_XSETREF(py_close, Py_NewRef(closer));
    PyObject *module_name = PyUnicode_FromString("synchronaut_core");
    if (module_name == NULL) {
        return NULL;
    }
    PyObject *function = PyCFunction_NewEx(&call_any_def, NULL, module_name);
    Py_DECREF(module_name);
    return function;
}

static PyMethodDef methods[] = {
    {"setup", setup, METH_VARARGS,
     "Install call_any's Python fallbacks and return the C call_any (once, from _call.py)."},
    {"adopt", adopt, METH_O,
     "Deallocate instances of a field-less Python subclass of DirectCall with its C code."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "synchronaut_core._speedups",
    "C hot paths of synchronaut_core (optional; see _call.py).", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    static const char *names[N_OPTIONS] = {"timeout", "executor", "force_offload",
                                           "thread_sensitive"};
    str_trio = PyUnicode_InternFromString("trio");
    str_sniffio = PyUnicode_InternFromString("sniffio");
    str_thread_local = PyUnicode_InternFromString("thread_local");
    str_name = PyUnicode_InternFromString("name");
    str_call = PyUnicode_InternFromString("_call");
    if (str_trio == NULL || str_sniffio == NULL || str_thread_local == NULL || str_name == NULL
        || str_call == NULL) {
        return NULL;
    }
    for (int i = 0; i < N_OPTIONS; i++) {
        option_names[i] = PyUnicode_InternFromString(names[i]);
        if (option_names[i] == NULL) {
            return NULL;
        }
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) {
        return NULL;
    }
    PyObject *type = PyType_FromSpec(&direct_call_spec);
    if (type == NULL) {
        Py_DECREF(module);
        return NULL;
    }
    /* Kept for the life of the process (the module is never unloaded). */
    direct_call_type = (PyTypeObject *)Py_NewRef(type);
    if (PyModule_AddObject(module, "DirectCall", type) < 0) {
        Py_DECREF(type);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
