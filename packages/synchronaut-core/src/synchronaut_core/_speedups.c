/* synchronaut_core._speedups: the per-call hot paths in C.
 *
 * Optional: the package works the same without it (set SYNCHRONAUT_PURE_PYTHON=1 to
 * check). Each function here handles only the cases a pure-Python version handles
 * with a few attribute tests -- a sync function called from sync code, a coroutine
 * function called inside a running asyncio loop -- and hands every other case, with
 * its arguments untouched, to the Python implementation it shadows. Semantics live
 * in Python (_call.py, synchronaut's _decorator.py); this file only saves the cost of
 * packing *args/**kwargs and running the tests in bytecode.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define CO_ASYNC_MASK (CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR)
#define N_OPTIONS 4

/* Installed once by setup() (strong references, kept for the life of the process). */
static PyObject *get_running_loop = NULL; /* asyncio._get_running_loop */
static PyObject *py_call_any = NULL;      /* the pure-Python call_any */
static PyObject *py_resolve = NULL;       /* _resolve_coroutine(result, func) */
static PyObject *py_sync_call = NULL;     /* SynchronautSync's Python __call__ */
static PyObject *py_async_call = NULL;    /* SynchronautAsync's Python __call__ */

static PyObject *str_trio, *str_sniffio, *str_thread_local, *str_name, *str_direct_func;
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

/* A sync callable returned a coroutine: let Python run it (see _call.py). */
static PyObject *
resolve(PyObject *result, PyObject *func)
{
    if (result != NULL && PyCoro_CheckExact(result)) {
        PyObject *resolved = PyObject_CallFunctionObjArgs(py_resolve, result, func, NULL);
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
        if (in_loop) {
            /* asyncio -> async: the coroutine (or async generator) itself. */
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

/* The wrapped function of a decorated function when its calls may take the direct
 * path (no options), as a new reference; NULL with no error set otherwise. */
static PyObject *
direct_func(PyObject *self)
{
    PyObject *func = PyObject_GetAttr(self, str_direct_func);
    if (func == Py_None) {
        Py_DECREF(func);
        return NULL;
    }
    return func;
}

/* Call fallback(self, *args, **kwargs) from a method's vectorcall arguments. */
static PyObject *
call_with_self(PyObject *fallback, PyObject *self, PyObject *const *args, size_t nargsf,
               PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t total = nargs + (kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames));
    PyObject *small[8];
    PyObject **stack = total + 1 <= 8 ? small : PyMem_Malloc((total + 1) * sizeof(PyObject *));
    if (stack == NULL) {
        return PyErr_NoMemory();
    }
    stack[0] = self;
    for (Py_ssize_t i = 0; i < total; i++) {
        stack[i + 1] = args[i];
    }
    PyObject *result = PyObject_Vectorcall(fallback, stack, nargs + 1, kwnames);
    if (stack != small) {
        PyMem_Free(stack);
    }
    return result;
}

/* SynchronautSync.__call__, bound as a method: self is the decorated function. */
static PyObject *
sync_wrapper_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (py_sync_call == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "synchronaut_core._speedups is not set up");
        return NULL;
    }
    int in_loop = in_asyncio_loop();
    if (in_loop != 0) {
        if (in_loop < 0) {
            return NULL;
        }
        goto python;
    }
    int trio = trio_running();
    if (trio != 0) {
        if (trio < 0) {
            return NULL;
        }
        goto python;
    }
    PyObject *func = direct_func(self);
    if (func == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        goto python;
    }
    PyObject *result = resolve(PyObject_Vectorcall(func, args, nargsf, kwnames), func);
    Py_DECREF(func);
    return result;
python:
    return call_with_self(py_sync_call, self, args, nargsf, kwnames);
}

/* SynchronautAsync.__call__, bound as a method: self is the decorated function. */
static PyObject *
async_wrapper_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (py_async_call == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "synchronaut_core._speedups is not set up");
        return NULL;
    }
    int in_loop = in_asyncio_loop();
    if (in_loop != 1) {
        if (in_loop < 0) {
            return NULL;
        }
        goto python;
    }
    PyObject *func = direct_func(self);
    if (func == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        goto python;
    }
    PyObject *result = PyObject_Vectorcall(func, args, nargsf, kwnames);
    Py_DECREF(func);
    return result;
python:
    return call_with_self(py_async_call, self, args, nargsf, kwnames);
}

/* call_any's definition; its docstring is set by setup() from the Python one. */
static PyMethodDef call_any_def = {
    "call_any", (PyCFunction)(void (*)(void))call_any, METH_FASTCALL | METH_KEYWORDS, NULL,
};

/* setup(get_running_loop, python_call_any, resolve_coroutine, doc) -> the C call_any,
 * documented with `doc` and belonging to module synchronaut_core. */
static PyObject *
setup(PyObject *module, PyObject *args)
{
    PyObject *loop_fn, *fallback, *resolver;
    const char *doc;
    if (!PyArg_ParseTuple(args, "OOOs:setup", &loop_fn, &fallback, &resolver, &doc)) {
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
    PyObject *module_name = PyUnicode_FromString("synchronaut_core");
    if (module_name == NULL) {
        return NULL;
    }
    PyObject *function = PyCFunction_NewEx(&call_any_def, NULL, module_name);
    Py_DECREF(module_name);
    return function;
}

static PyObject *
setup_wrappers(PyObject *module, PyObject *args)
{
    PyObject *sync_call, *async_call;
    if (!PyArg_ParseTuple(args, "OO:setup_wrappers", &sync_call, &async_call)) {
        return NULL;
    }
    Py_XSETREF(py_sync_call, Py_NewRef(sync_call));
    Py_XSETREF(py_async_call, Py_NewRef(async_call));
    Py_RETURN_NONE;
}

static PyMethodDef wrapper_defs[] = {
    {"__call__", (PyCFunction)(void (*)(void))sync_wrapper_call, METH_FASTCALL | METH_KEYWORDS,
     "Call the decorated function (see SynchronautSync)."},
    {"__call__", (PyCFunction)(void (*)(void))async_wrapper_call, METH_FASTCALL | METH_KEYWORDS,
     "Call the decorated coroutine function (see SynchronautAsync)."},
};

static PyMethodDef methods[] = {
    {"setup", setup, METH_VARARGS,
     "Install call_any's Python fallbacks and return the C call_any (once, from _call.py)."},
    {"setup_wrappers", setup_wrappers, METH_VARARGS,
     "Install the decorator's Python fallbacks (once, from synchronaut._decorator)."},
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
    str_direct_func = PyUnicode_InternFromString("_direct_func");
    if (str_trio == NULL || str_sniffio == NULL || str_thread_local == NULL || str_name == NULL
        || str_direct_func == NULL) {
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
    /* Method descriptors on `object`: stored as a class's __call__, they bind like a
     * function does, so `wrapper(...)` reaches them with self first. */
    PyObject *sync_call = PyDescr_NewMethod(&PyBaseObject_Type, &wrapper_defs[0]);
    if (sync_call == NULL || PyModule_AddObject(module, "sync_wrapper_call", sync_call) < 0) {
        Py_XDECREF(sync_call);
        Py_DECREF(module);
        return NULL;
    }
    PyObject *async_call = PyDescr_NewMethod(&PyBaseObject_Type, &wrapper_defs[1]);
    if (async_call == NULL || PyModule_AddObject(module, "async_wrapper_call", async_call) < 0) {
        Py_XDECREF(async_call);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
