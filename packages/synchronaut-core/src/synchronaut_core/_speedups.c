/* synchronaut_core._speedups: the per-call hot paths in C.
 *
 * Optional: the package works the same without it (set SYNCHRONAUT_NO_EXTENSIONS=1 to
 * check). Each function here handles only the cases a pure-Python version handles
 * with a few attribute tests -- a sync function called from sync code, a coroutine
 * function called inside a running asyncio loop -- and hands every other case, with
 * its arguments untouched, to the Python implementation it shadows. Semantics live
 * in Python (_call.py, _decorator.py); this file only saves the cost of packing the
 * positional and keyword arguments and running the tests in bytecode -- and, for
 * decorated methods, of binding: ``obj.method`` is made here as cheaply as a bound
 * method (_Wrapper._get is the specification).
 *
 * Module state, not statics: the module uses multi-phase initialisation, so each
 * interpreter (subinterpreters included) has a module, a DirectCall type and Python
 * fallbacks of its own; no PyObject* in this file is static. Every object held while
 * Python code may run (an attribute read, a call, a finalizer run by the allocator)
 * is owned by a reference taken here, never borrowed from a field or a dict.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <structmember.h>

#define CO_ASYNC_MASK (CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR)

/* Everything the module holds, per interpreter. */
typedef struct {
    /* Installed by setup() from _call.py (strong references). */
    PyObject *get_running_loop; /* asyncio._get_running_loop */
    PyObject *py_call_any;      /* the pure entry (_call_any_fast): every call not taken here */
    PyObject *py_resolve;       /* _resolve_coroutine(result, func) */
    PyObject *py_close;         /* _close_returned_if_unstarted(result) */
    PyObject *option_names;     /* tuple of str: call_any's keyword-only parameters */
    PyObject *coroutine_types;  /* _detect._COROUTINE_TYPES: type -> "is a coroutine to run" */
    /* Installed by setup_inline() when inline mode is first used (_call._load_inline);
     * NULL before: no inline call can be running then, and call_any looks for none. */
    PyObject *getcurrent;       /* greenlet.getcurrent */
    PyObject *green_type;       /* _inline._Green: its ``inline`` names the call it runs */
    PyObject *set_running_loop; /* asyncio._set_running_loop */
    PyObject *py_inline_enter;  /* _inline._enter(func, args, name): an inline call's awaitable */
    PyObject *current_task;     /* asyncio.current_task (InlineChain's check, 3.12+) */
    /* The blocking guard's threshold in seconds (-1: off), mirrored from
     * _inline._threshold by set_inline_threshold(); read at every switch by InlineChain. */
    double threshold;
    /* asyncio's running-loop record type once recognised (3.10, 3.11; owned). */
    PyObject *holder_type;
    /* get_running_loop is _asyncio's own (3.10, 3.11): its record may be read here. */
    int record_readable;
    PyTypeObject *chain_type;   /* InlineChain */
    /* Made by the exec slot. */
    PyObject *str_trio, *str_sniffio, *str_thread_local, *str_name, *str_call;
    PyObject *str_inline, *str_back, *str_running_key, *str_marker;
    PyObject *str_gr_context, *str_throw, *str_close, *str_report, *str_asyncio_c;
    PyTypeObject *direct_call_type;
    /* call_any's definition and docstring, owned by this module: the function object
     * setup() makes holds the module (its __self__), so they outlive it. */
    PyMethodDef call_any_def;
    char *call_any_doc;
} State;

static struct PyModuleDef module_def;

/* running_loop_recorded(): the record cannot be read here, asyncio's call decides. */
#define ASK_ASYNCIO 2

static inline State *
module_state(PyObject *module)
{
    return (State *)PyModule_GetState(module);
}

/* The state of the module that defined DirectCall, found from ``type`` (DirectCall or
 * a subclass); NULL with TypeError set if it is not one. */
static State *
state_of_type(PyTypeObject *type)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *module = PyType_GetModuleByDef(type, &module_def);
    return module == NULL ? NULL : module_state(module);
#else
    /* 3.10 has no PyType_GetModuleByDef: the same walk of the MRO. */
    PyObject *mro = type->tp_mro;
    if (mro != NULL) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
            PyTypeObject *base = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
            if (!(base->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
                continue;
            }
            PyObject *module = ((PyHeapTypeObject *)base)->ht_module;
            if (module != NULL && PyModule_GetDef(module) == &module_def) {
                return module_state(module);
            }
        }
    }
    PyErr_Format(PyExc_TypeError, "%s is not a DirectCall type", type->tp_name);
    return NULL;
#endif
}

/* 0 when setup() has run and the module is not being torn down (its state cleared at
 * interpreter exit while a wrapper may still be called); -1 with RuntimeError set. */
static int
check_ready(State *st)
{
    if (st->py_call_any == NULL || st->str_call == NULL || st->coroutine_types == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "synchronaut_core._speedups: not set up, or already finalized");
        return -1;
    }
    return 0;
}

/* See its definition (below the running-loop record). */
static int running_loop_recorded(State *st);

/* 1 if a running asyncio loop belongs to this thread, 0 if not, -1 on error. */
static int
in_asyncio_loop(State *st)
{
    int recorded = running_loop_recorded(st);
    if (recorded != ASK_ASYNCIO) {
        return recorded;
    }
    PyObject *loop = PyObject_CallNoArgs(st->get_running_loop);
    if (loop == NULL) {
        return -1;
    }
    int running = loop != Py_None;
    Py_DECREF(loop);
    return running;
}

enum { TRIO_NO = 0, TRIO_YES = 1, TRIO_ASK_PYTHON = 2 };

/* TRIO_YES if this thread is inside trio.run, TRIO_NO if not, -1 on error. Same test
 * as _detect._trio_running: Trio names itself in sniffio's thread-local for the whole
 * run. Trio imported without sniffio (never so with a real Trio): TRIO_ASK_PYTHON,
 * and the caller hands the whole call to Python, which asks Trio itself. */
static int
trio_running(State *st)
{
    PyObject *modules = PyImport_GetModuleDict(); /* borrowed: the interpreter holds it */
    int has_trio = PyDict_Contains(modules, st->str_trio);
    if (has_trio <= 0) {
        return has_trio;
    }
    /* Owned: the attribute reads below run Python code (a module __getattr__, a
     * property) that may remove sniffio from sys.modules. */
    PyObject *sniffio = Py_XNewRef(PyDict_GetItemWithError(modules, st->str_sniffio));
    if (sniffio == NULL || sniffio == Py_None) {
        /* Absent, or blocked (sys.modules["sniffio"] = None): Python's
         * _modules.get("sniffio") is None, and it asks Trio instead. */
        Py_XDECREF(sniffio);
        return PyErr_Occurred() ? -1 : TRIO_ASK_PYTHON;
    }
    PyObject *local = PyObject_GetAttr(sniffio, st->str_thread_local);
    Py_DECREF(sniffio);
    if (local == NULL) {
        return -1;
    }
    PyObject *name = PyObject_GetAttr(local, st->str_name);
    Py_DECREF(local);
    if (name == NULL) {
        return -1;
    }
    if (name == Py_None) {
        Py_DECREF(name);
        return TRIO_NO; /* sniffio's value outside any run: None == "trio" runs no code */
    }
    if (!PyUnicode_CheckExact(name)) {
        /* Anything else but a str (a str subclass too) compares with its own __eq__,
         * which may run any code: Python makes that comparison, once. */
        Py_DECREF(name);
        return TRIO_ASK_PYTHON;
    }
    int running = PyUnicode_Compare(name, st->str_trio) == 0;
    Py_DECREF(name);
    return running ? TRIO_YES : TRIO_NO;
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

/* The cleanup after the resolver raised failed too (a Ctrl-C landing in it): as in
 * Python's ``except BaseException: cleanup(); raise``, the cleanup's exception
 * propagates, with the first one as its __context__. The first is owned here. */
#if PY_VERSION_HEX >= 0x030C0000
typedef PyObject *SavedError;

static SavedError
save_error(void)
{
    return PyErr_GetRaisedException();
}

static void
restore_error(SavedError first, int cleanup_failed)
{
    if (!cleanup_failed) {
        PyErr_SetRaisedException(first);
        return;
    }
    PyObject *second = PyErr_GetRaisedException();
    if (second != first) {
        PyException_SetContext(second, first); /* steals first */
    }
    else {
        Py_DECREF(first);
    }
    PyErr_SetRaisedException(second);
}
#else
typedef struct {
    PyObject *type, *value, *traceback;
} SavedError;

static SavedError
save_error(void)
{
    SavedError e;
    PyErr_Fetch(&e.type, &e.value, &e.traceback);
    PyErr_NormalizeException(&e.type, &e.value, &e.traceback);
    if (e.traceback != NULL && e.value != NULL) {
        PyException_SetTraceback(e.value, e.traceback);
    }
    return e;
}

static void
restore_error(SavedError first, int cleanup_failed)
{
    if (!cleanup_failed) {
        PyErr_Restore(first.type, first.value, first.traceback);
        return;
    }
    SavedError second = save_error();
    if (second.value != NULL && first.value != NULL && second.value != first.value) {
        PyException_SetContext(second.value, first.value); /* steals first.value */
    }
    else {
        Py_XDECREF(first.value);
    }
    Py_XDECREF(first.type);
    Py_XDECREF(first.traceback);
    PyErr_Restore(second.type, second.value, second.traceback);
}
#endif

/* Can looking ``kind`` up in a dict run code or fail? Not when its metaclass hashes
 * and compares as ``type`` does (by identity): then the lookup's answer is all it gives. */
static int
silent_key(PyTypeObject *kind)
{
    PyTypeObject *meta = Py_TYPE(kind);
    return meta == &PyType_Type
           || (meta->tp_hash == PyType_Type.tp_hash
               && meta->tp_richcompare == PyType_Type.tp_richcompare);
}

/* A sync callable returned ``result`` (owned; NULL: it raised): the value, or what
 * Python makes of it. The pure hot path asks _detect._COROUTINE_TYPES (the type's
 * hash, then issubclass(kind, Coroutine), learned): a native coroutine, or any other
 * value it does not know to be no coroutine, is handed to _call._resolve_coroutine
 * here too. For a type whose lookup is silent (silent_key) the table is not asked: a
 * type without __await__ is no coroutine -- the one difference, a class registered as
 * a collections.abc.Coroutine without __await__ (Python fails to await it, C returns
 * it), is the price of not paying a dict lookup on every call. A type whose metaclass
 * hashes or compares in Python is looked up in the same table, as Python does (its
 * __hash__ runs, or raises, alike). ``func`` is owned by the caller for the duration. */
static PyObject *
resolve(State *st, PyObject *result, PyObject *func)
{
    if (result == NULL) {
        return NULL;
    }
    if (!PyCoro_CheckExact(result)) {
        PyTypeObject *kind = Py_TYPE(result);
        if (silent_key(kind)) {
            PyAsyncMethods *am = kind->tp_as_async;
            if (am == NULL || am->am_await == NULL) {
                return result;
            }
        }
        else {
            /* Borrowed, only compared: the lookup may run the metaclass's code. */
            PyObject *known = PyDict_GetItemWithError(st->coroutine_types, (PyObject *)kind);
            if (known == Py_False) {
                return result;
            }
            if (known == NULL && PyErr_Occurred()) {
                Py_DECREF(result);
                return NULL;
            }
        }
    }
    PyObject *resolved = PyObject_CallFunctionObjArgs(st->py_resolve, result, func, NULL);
    if (resolved == NULL) {
        /* Ctrl-C can land on the resolver's entry, before anything owns the
         * coroutine: have it closed if it never started, keeping the error. */
        SavedError first = save_error();
        PyObject *closed = PyObject_CallOneArg(st->py_close, result);
        Py_XDECREF(closed);
        restore_error(first, closed == NULL);
    }
    Py_DECREF(result);
    return resolved;
}

/* 1 if kwnames holds one of call_any's own options (the names Python gave setup()) or
 * a name only Python can bind, 0 if not, -1 on error. */
static int
has_option(State *st, PyObject *kwnames)
{
    if (kwnames == NULL) {
        return 0;
    }
    PyObject *options = st->option_names;
    Py_ssize_t n = PyTuple_GET_SIZE(kwnames);
    Py_ssize_t m = PyTuple_GET_SIZE(options);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, i);
        if (!PyUnicode_CheckExact(name)) {
            /* A str subclass: Python's argument binding compares it with its own
             * __eq__ (which may match an option whatever its text): Python binds it. */
            return 1;
        }
        for (Py_ssize_t j = 0; j < m; j++) {
            PyObject *option = PyTuple_GET_ITEM(options, j);
            if (name == option) {
                return 1;
            }
            int eq = PyUnicode_Compare(name, option);
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

/* --- Recursion: a C call charged as the Python frame it stands for --------------- *
 * The pure path runs a Python frame where C runs none (call_any's, a wrapper's
 * ``_call``). A recursion through C must still raise RecursionError where the pure
 * path does -- and a chain of wrappers calling wrappers, with no Python frame between
 * them, must not overflow the C stack. So each such call is charged one level of the
 * counter CPython checks as it pushes a Python frame, and fails as that check fails:
 * 3.10 and 3.11 count Python frames and C recursion on one counter
 * (Py_EnterRecursiveCall); 3.12 and 3.13 count Python frames apart
 * (PyThreadState.py_recursion_remaining, what their frame push decrements), and C
 * recursion as before. Later versions: the C counter only (untested layout). */
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030E0000
#define PYTHON_FRAMES_APART 1
#endif

/* Charge one Python frame (and, with ``c_too``, one level of C recursion): 0, or -1
 * with RecursionError set. ``where`` ends the message, as CPython's own checks do. */
static int
enter_frame(const char *where, int c_too)
{
#ifdef PYTHON_FRAMES_APART
    PyThreadState *ts = PyThreadState_Get();
    if (ts->py_recursion_remaining-- <= 0) {
        ts->py_recursion_remaining++;
        PyErr_SetString(PyExc_RecursionError, "maximum recursion depth exceeded");
        return -1;
    }
    if (c_too && Py_EnterRecursiveCall(where)) {
        ts->py_recursion_remaining++;
        return -1;
    }
    return 0;
#else
    (void)c_too;
    return Py_EnterRecursiveCall(where);
#endif
}

static void
leave_frame(int c_too)
{
#ifdef PYTHON_FRAMES_APART
    if (c_too) {
        Py_LeaveRecursiveCall();
    }
    PyThreadState_Get()->py_recursion_remaining++;
#else
    (void)c_too;
    Py_LeaveRecursiveCall();
#endif
}

/* ``func(*args)`` for call_any's direct paths, charged as the pure call_any's frame.
 * 3.10 charges the call of a builtin itself (CPython's own check, no charge here);
 * 3.11 does not; 3.12 and 3.13 charge it as C recursion only. */
static PyObject *
call_charged(PyObject *func, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000
    if (enter_frame(" while calling a Python object", 0) < 0) {
        return NULL;
    }
    PyObject *result = PyObject_Vectorcall(func, args, nargsf, kwnames);
    leave_frame(0);
    return result;
#else
    return PyObject_Vectorcall(func, args, nargsf, kwnames);
#endif
}

/* --- Inline mode (see _inline.py) ------------------------------------------------ */

/* The inline call whose greenlet runs this thread right now (owned), Py_None if none
 * (owned too), NULL on error: _inline._running_inline. */
static PyObject *
running_inline(State *st)
{
    PyObject *current = PyObject_CallNoArgs(st->getcurrent);
    if (current == NULL) {
        return NULL;
    }
    if ((PyObject *)Py_TYPE(current) != st->green_type) {
        Py_DECREF(current);
        Py_RETURN_NONE;
    }
    PyObject *inline_call = PyObject_GetAttr(current, st->str_inline);
    Py_DECREF(current);
    return inline_call;
}

/* Inline code -> async, as the Python hot path does it (``inline_call.back(coro)``):
 * when an inline call's greenlet runs this thread, ``func(*args)`` is handed to the
 * task driving it, which awaits it and switches back with the value (or raises into
 * the greenlet here). 1 with *result set (NULL: raised), 0 if no inline call runs this
 * thread (nothing called, no error set). */
static int
inline_await(State *st, PyObject *func, PyObject *const *args, size_t nargsf,
             PyObject *kwnames, PyObject **result)
{
    PyObject *inline_call = running_inline(st);
    *result = NULL;
    if (inline_call == NULL) {
        return 1;
    }
    if (inline_call == Py_None) {
        Py_DECREF(inline_call);
        return 0;
    }
    PyObject *back = PyObject_GetAttr(inline_call, st->str_back);
    Py_DECREF(inline_call);
    if (back == NULL) {
        return 1;
    }
    PyObject *coro = call_charged(func, args, nargsf, kwnames);
    if (coro == NULL) {
        Py_DECREF(back);
        return 1;
    }
    PyObject *value = PyObject_CallOneArg(back, coro);
    Py_DECREF(back);
    if (value == NULL) {
        /* The switch itself failed, or a Ctrl-C landed on its entry: a coroutine the
         * task never took is closed (no "never awaited"), the error kept. */
        SavedError first = save_error();
        PyObject *closed = PyObject_CallOneArg(st->py_close, coro);
        Py_XDECREF(closed);
        restore_error(first, closed == NULL);
    }
    Py_DECREF(coro);
    *result = value;
    return 1;
}

/* While an inline greenlet runs, the thread's running asyncio loop is hidden (the
 * greenlet is sync code). asyncio.``_set_running_loop`` does it, but on 3.10 and 3.11
 * each call allocates a new record of the running loop and asks the kernel for the
 * process id: twice per bridge call made inline, a third of its cost. There the
 * record the loop set is kept and only its loop swapped with None and back -- what
 * asyncio reads is the same as after ``_set_running_loop(None)`` and then
 * ``_set_running_loop(loop)`` (same process id, same cached record). The record is
 * recognised by type name and size first; anything unexpected takes asyncio's own
 * call. 3.12 keeps the loop in the thread state: asyncio's call is cheap there. */
#if PY_VERSION_HEX < 0x030C0000
/* _asynciomodule.c's PyRunningLoopHolder (3.10, 3.11). */
typedef struct {
    PyObject_HEAD
    PyObject *rl_loop;
#if defined(HAVE_GETPID) && !defined(MS_WINDOWS)
    pid_t rl_pid;
#endif
} LoopHolder;

#if defined(HAVE_GETPID) && !defined(MS_WINDOWS)
#include <pthread.h>
/* This process's id, 0 until asked for. asyncio's record holds the id of the process
 * that set it and asyncio sees no running loop in a record of another process: in a
 * child forked by inline code, putting the loop back into the record the parent hid
 * would leave the child's task loop-less (``_set_running_loop(loop)`` there records
 * the child's id). Forgotten by a fork handler, so that knowing it costs no system
 * call per switch; process-wide, like the process id itself. */
static pid_t process_id = 0;

static void
forget_process_id(void)
{
    process_id = 0;
}

static pid_t
current_process_id(void)
{
    if (process_id == 0) {
        process_id = getpid();
    }
    return process_id;
}

/* Once per process (and its forks, which inherit it): 0, or -1 with an error set. */
static int
watch_forks(void)
{
    static int watching = 0;
    if (!watching) {
        if (pthread_atfork(NULL, NULL, forget_process_id) != 0) {
            PyErr_SetString(PyExc_RuntimeError,
                            "synchronaut_core._speedups: pthread_atfork failed");
            return -1;
        }
        watching = 1;
    }
    return 0;
}
#define RECORD_OF_THIS_PROCESS(holder) ((holder)->rl_pid == current_process_id())
#else
static int
watch_forks(void)
{
    return 0;
}
#define RECORD_OF_THIS_PROCESS(holder) 1
#endif

/* Is ``holder`` asyncio's running-loop record (a PyRunningLoopHolder)? Recognised by
 * name and size; the first type recognised is kept (by a reference of ours, so that its
 * address cannot be reused by another type) and from then on known by a pointer
 * compare. */
static int
is_loop_record(State *st, PyObject *holder)
{
    PyTypeObject *type = Py_TYPE(holder);
    if ((PyObject *)type == st->holder_type) {
        return 1;
    }
    if (type->tp_basicsize != (Py_ssize_t)sizeof(LoopHolder)
        || strcmp(type->tp_name, "_RunningLoopHolder") != 0) {
        return 0;
    }
    if (st->holder_type == NULL) {
        st->holder_type = Py_NewRef((PyObject *)type);
    }
    return 1;
}

/* This thread's running-loop record if it holds ``current`` (borrowed) and was set in
 * this process, else NULL (an error set only if the lookup failed). No Python code
 * runs here. */
static LoopHolder *
loop_holder(State *st, PyObject *current)
{
    PyObject *dict = PyThreadState_GetDict(); /* borrowed */
    if (dict == NULL) {
        return NULL;
    }
    /* An exact str key: the lookup compares without running code. */
    PyObject *holder = PyDict_GetItemWithError(dict, st->str_running_key); /* borrowed */
    if (holder == NULL) {
        return NULL;
    }
    if (!is_loop_record(st, holder) || ((LoopHolder *)holder)->rl_loop != current
        || !RECORD_OF_THIS_PROCESS((LoopHolder *)holder)) {
        return NULL;
    }
    return (LoopHolder *)holder;
}
#else
static int
watch_forks(void)
{
    return 0;
}
#endif

/* Is an asyncio loop running on this thread? What ``_asyncio._get_running_loop()`` is
 * None or not tells, read from its record: on 3.10 and 3.11 that call asks the kernel
 * for the process id each time (a record set in another process is not this one's
 * loop), a system call on every call_any made in async code -- here the id is kept
 * and forgotten at a fork (watch_forks). 1, 0, -1 with an error set, or ASK_ASYNCIO:
 * anything unexpected (no C asyncio, a record of a type not recognised) is asyncio's
 * call to make. No Python code runs here. */
static int
running_loop_recorded(State *st)
{
#if PY_VERSION_HEX < 0x030C0000 && defined(HAVE_GETPID) && !defined(MS_WINDOWS)
    if (!st->record_readable || watch_forks() < 0) {
        return st->record_readable ? -1 : ASK_ASYNCIO;
    }
    PyObject *dict = PyThreadState_GetDict(); /* borrowed */
    if (dict == NULL) {
        return ASK_ASYNCIO;
    }
    PyObject *holder = PyDict_GetItemWithError(dict, st->str_running_key); /* borrowed */
    if (holder == NULL) {
        return PyErr_Occurred() ? -1 : 0; /* no record: asyncio's "no running loop" */
    }
    if (!is_loop_record(st, holder)) {
        return ASK_ASYNCIO;
    }
    LoopHolder *record = (LoopHolder *)holder;
    return record->rl_loop != Py_None && RECORD_OF_THIS_PROCESS(record);
#else
    (void)st;
    return ASK_ASYNCIO;
#endif
}

static int
check_inline_ready(State *st)
{
    if (st->set_running_loop == NULL || st->getcurrent == NULL || st->str_running_key == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "synchronaut_core._speedups: inline mode not set up, or finalized");
        return -1;
    }
    return 0;
}

/* ``loop`` (this thread's running loop) hidden, as by ``_set_running_loop(None)``: a
 * token (owned) for show_loop, NULL on error. */
static PyObject *
hide_loop(State *st, PyObject *loop)
{
#if PY_VERSION_HEX < 0x030C0000
    LoopHolder *holder = loop_holder(st, loop);
    if (holder != NULL) {
        /* The record's reference to the loop is dropped: the caller's keeps it alive
         * (no finalizer can run here). */
        holder->rl_loop = Py_NewRef(Py_None);
        Py_DECREF(loop);
        return Py_NewRef((PyObject *)holder);
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
#endif
    PyObject *done = PyObject_CallOneArg(st->set_running_loop, Py_None);
    if (done == NULL) {
        return NULL;
    }
    Py_DECREF(done);
    Py_RETURN_NONE;
}

/* ``loop`` running on this thread again, as by ``_set_running_loop(loop)``: 0, or -1
 * with an error set. With the record hide_loop hid (``token``, still this thread's,
 * still holding None) its loop is put back; with anything else (None: a hide that did
 * not happen, or code that set a loop of its own meanwhile) asyncio's own call sets it. */
static int
show_loop(State *st, PyObject *token, PyObject *loop)
{
#if PY_VERSION_HEX < 0x030C0000
    if (token != Py_None) {
        LoopHolder *holder = loop_holder(st, Py_None);
        if ((PyObject *)holder == token) {
            holder->rl_loop = Py_NewRef(loop);
            Py_DECREF(Py_None);
            return 0;
        }
        if (PyErr_Occurred()) {
            return -1;
        }
    }
#else
    (void)token;
#endif
    PyObject *done = PyObject_CallOneArg(st->set_running_loop, loop);
    if (done == NULL) {
        return -1;
    }
    Py_DECREF(done);
    return 0;
}

/* hide_running_loop(loop) -> token: _inline._hide_loop_py. */
static PyObject *
hide_running_loop(PyObject *module, PyObject *loop)
{
    State *st = module_state(module);
    if (check_inline_ready(st) < 0) {
        return NULL;
    }
    return hide_loop(st, loop);
}

/* show_running_loop(token, loop): _inline._show_loop_py. */
static PyObject *
show_running_loop(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    State *st = module_state(module);
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "show_running_loop(token, loop) takes 2 arguments");
        return NULL;
    }
    if (check_inline_ready(st) < 0 || show_loop(st, args[0], args[1]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* The perf_counter clock, in nanoseconds; -1 with an error set if it failed. */
static long long
perf_ns(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyTime_t now;
    if (PyTime_PerfCounter(&now) < 0) {
        return -1;
    }
    return (long long)now;
#else
    return (long long)_PyTime_GetPerfCounter();
#endif
}

/* The end of a stretch of inline code, after the switch that ran it: ``result`` is what
 * the switch gave (owned), or NULL with its error saved in ``*first``; ``restored`` says
 * whether the thread's loop (or Trio's name) was put back (0, or -1 with an error set).
 * The stretch since ``started`` is reported on ``inline_call`` if longer than ``limit``
 * seconds (< 0: never). As in Python's ``finally``, an error of the restore or of the
 * report replaces the switch's (chained to it). What the switch gave, or NULL. */
static PyObject *
end_stretch(State *st, PyObject *result, SavedError *first, int restored,
            PyObject *inline_call, long long started, double limit)
{
    int reported = 0;
    if (restored == 0) {
        long long ended = perf_ns();
        if (ended < 0) {
            reported = -1;
        }
        else if (limit >= 0.0 && (double)(ended - started) / 1e9 > limit) {
            PyObject *elapsed = PyFloat_FromDouble((double)(ended - started) / 1e9);
            PyObject *done = elapsed == NULL ? NULL
                                             : PyObject_CallMethodOneArg(inline_call,
                                                                         st->str_report, elapsed);
            Py_XDECREF(elapsed);
            reported = done == NULL ? -1 : 0;
            Py_XDECREF(done);
        }
    }
    int cleanup_failed = restored < 0 || reported < 0;
    if (result == NULL) {
        restore_error(*first, cleanup_failed);
        return NULL;
    }
    if (cleanup_failed) {
        Py_DECREF(result);
        return NULL;
    }
    return result;
}

/* The driving task switches into the inline greenlet (``switch_(arg)``), ``loop`` hidden
 * while it runs, and reports a stretch longer than ``limit`` seconds (< 0: never) on
 * ``inline_call``: what the greenlet handed back (owned), NULL with its exception.
 * Nothing between the hide and the switch, or the switch and the show, can be
 * interrupted here (no Python code runs): the thread's loop is back whatever the switch
 * raised (see end_stretch for the errors). The asyncio switch of inline_switch and
 * InlineChain. */
static PyObject *
switch_in(State *st, PyObject *switch_, PyObject *arg, PyObject *loop, PyObject *inline_call,
          double limit)
{
    /* perf_counter, as the pure driver reads it: a stretch is never measured short
     * (the kernel's coarse clock, cheaper, is off by up to a tick: found by review). */
    long long started = perf_ns();
    if (started < 0) {
        return NULL;
    }
    PyObject *token = hide_loop(st, loop);
    if (token == NULL) {
        return NULL;
    }
    PyObject *result = PyObject_CallOneArg(switch_, arg);
    SavedError first;
    if (result == NULL) {
        first = save_error();
    }
    int shown = show_loop(st, token, loop);
    Py_DECREF(token);
    return end_stretch(st, result, &first, shown, inline_call, started, limit);
}

/* switch_in for Trio: while the greenlet runs, Trio's name in sniffio's thread state
 * (``local``) is cleared instead of a loop hidden, and put back after, as
 * _inline._Inline.resume does it (the name read first, put back whatever the switch
 * raised). */
static PyObject *
switch_in_trio(State *st, PyObject *switch_, PyObject *arg, PyObject *local,
               PyObject *inline_call, double limit)
{
    PyObject *name = PyObject_GetAttr(local, st->str_name);
    if (name == NULL) {
        return NULL;
    }
    long long started = perf_ns();
    if (started < 0 || PyObject_SetAttr(local, st->str_name, Py_None) < 0) {
        Py_DECREF(name);
        return NULL;
    }
    PyObject *result = PyObject_CallOneArg(switch_, arg);
    SavedError first;
    if (result == NULL) {
        first = save_error();
    }
    int restored = PyObject_SetAttr(local, st->str_name, name);
    Py_DECREF(name);
    return end_stretch(st, result, &first, restored, inline_call, started, limit);
}

/* inline_switch(switch, arg, loop, inline, threshold): _inline._switch_in_py -- the
 * driving task switches into the inline greenlet with ``arg``, ``loop`` hidden while it
 * runs, and reports a stretch longer than ``threshold`` seconds (None: never). What the
 * greenlet handed back; its exception otherwise (see switch_in). */
static PyObject *
inline_switch(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    State *st = module_state(module);
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError,
                        "inline_switch(switch, arg, loop, inline, threshold) takes 5 arguments");
        return NULL;
    }
    if (check_inline_ready(st) < 0) {
        return NULL;
    }
    double limit = -1.0;
    if (args[4] != Py_None) {
        limit = PyFloat_AsDouble(args[4]);
        if (limit == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
    }
    return switch_in(st, args[0], args[1], args[2], args[3], limit);
}

/* set_inline_threshold(seconds): the blocking guard's threshold for InlineChain (None:
 * off); _inline.set_inline_blocking_threshold keeps it equal to _inline._threshold. */
static PyObject *
set_inline_threshold(PyObject *module, PyObject *seconds)
{
    State *st = module_state(module);
    double limit = -1.0;
    if (seconds != Py_None) {
        limit = PyFloat_AsDouble(seconds);
        if (limit == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
        if (!(limit > 0.0)) {
            PyErr_SetString(PyExc_ValueError, "set_inline_threshold(): seconds must be > 0");
            return NULL;
        }
    }
    st->threshold = limit;
    Py_RETURN_NONE;
}

/* --- InlineChain: the driving task's awaits of one inline call ---------------------- *
 * ``await chain.follow(request)`` in _inline._drive is ``await request`` -- the same
 * yields to the task, the same values and exceptions sent and thrown in, the same
 * exceptions out -- except what happens when ``request`` returns: its value is switched
 * into the greenlet (switch_in, or switch_in_trio in Trio, as _drive's next turn would
 * through _switch_in or _Inline.resume), and if the greenlet hands
 * back another plain coroutine, in the task's context, that one is awaited next, here.
 * Anything else it hands back (the end of the call, a coroutine in a context of its own,
 * anything that is not a coroutine) is the await's value, for _drive to deal with as it
 * deals with what a switch gives it. ``request``: the coroutine awaited now (None once
 * the await has returned, or failed in a switch). An exception out of the await came
 * from that coroutine (or from a throw into it) unless ``in_switch``: then the switch
 * raised it, as _drive's own switch would have. Every inner bridge call of inline code
 * comes back this way without running any Python code of the driver. Made and used on
 * the loop's thread, by the task only. */
typedef struct {
    PyObject_HEAD
    State *state; /* the module's (the type holds the module): not a reference */
    PyObject *switch_;  /* the greenlet's switch */
    PyObject *loop;     /* asyncio: the running loop, hidden around each switch; or None */
    PyObject *local;    /* Trio: sniffio's thread state, its name cleared meanwhile; or None */
    PyObject *inline_call;
    PyObject *green;    /* the greenlet, for its gr_context */
    PyObject *context;  /* the task's context: the greenlet's while it waits in it */
    PyObject *request;  /* the coroutine awaited now, or NULL */
    /* asyncio 3.12+: the driving task, which must be the loop's current one whenever
     * the greenlet hands a coroutine over (else _drive refuses it: an eager task's
     * first step run by inline code), None where it was stepped outside any task;
     * False: no check (Trio, asyncio before 3.12). */
    PyObject *task;
    char in_switch;
    char running;
} InlineChain;

static int
chain_traverse(InlineChain *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->switch_);
    Py_VISIT(self->loop);
    Py_VISIT(self->local);
    Py_VISIT(self->inline_call);
    Py_VISIT(self->green);
    Py_VISIT(self->context);
    Py_VISIT(self->request);
    Py_VISIT(self->task);
    return 0;
}

static int
chain_clear(InlineChain *self)
{
    Py_CLEAR(self->switch_);
    Py_CLEAR(self->loop);
    Py_CLEAR(self->local);
    Py_CLEAR(self->inline_call);
    Py_CLEAR(self->green);
    Py_CLEAR(self->context);
    Py_CLEAR(self->request);
    Py_CLEAR(self->task);
    return 0;
}

static void
chain_dealloc(InlineChain *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    chain_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyObject *
chain_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *switch_, *loop, *local, *inline_call, *green, *context, *task;
    if (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0) {
        PyErr_SetString(PyExc_TypeError, "InlineChain() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "OOOOOOO:InlineChain", &switch_, &loop, &local, &inline_call,
                          &green, &context, &task)) {
        return NULL;
    }
    State *st = state_of_type(type);
    if (st == NULL || check_inline_ready(st) < 0) {
        return NULL;
    }
    if ((loop == Py_None) == (local == Py_None)) {
        PyErr_SetString(PyExc_TypeError,
                        "InlineChain(): give an asyncio loop or sniffio's thread state, "
                        "one of them (the other None)");
        return NULL;
    }
    if (task != Py_False && st->current_task == NULL) {
        /* asyncio.current_task, for the check of each handover (loaded once). */
        PyObject *asyncio = PyImport_ImportModule("asyncio");
        if (asyncio == NULL) {
            return NULL;
        }
        PyObject *current_task = PyObject_GetAttrString(asyncio, "current_task");
        Py_DECREF(asyncio);
        if (current_task == NULL) {
            return NULL;
        }
        Py_XSETREF(st->current_task, current_task);
    }
    InlineChain *self = (InlineChain *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->state = st;
    self->switch_ = Py_NewRef(switch_);
    self->loop = Py_NewRef(loop);
    self->local = Py_NewRef(local);
    self->inline_call = Py_NewRef(inline_call);
    self->green = Py_NewRef(green);
    self->context = Py_NewRef(context);
    self->task = Py_NewRef(task);
    return (PyObject *)self;
}

/* Is ``task`` (False: no check; None: no task) the current task of ``loop``? 0 also
 * where asking failed (the error cleared): _drive asks again itself, and raises what it
 * gets. */
static int
current_task_is(State *st, PyObject *loop, PyObject *task)
{
    if (task == Py_False) {
        return 1;
    }
    PyObject *current = PyObject_CallOneArg(st->current_task, loop);
    if (current == NULL) {
        PyErr_Clear();
        return 0;
    }
    Py_DECREF(current); /* only compared: the loop's record keeps it */
    return current == task;
}

/* follow(request) -> self: await ``request`` next (see the type's comment). */
static PyObject *
chain_follow(InlineChain *self, PyObject *request)
{
    if (self->running) {
        PyErr_SetString(PyExc_ValueError, "InlineChain.follow(): the chain is being awaited");
        return NULL;
    }
    Py_XSETREF(self->request, Py_NewRef(request));
    self->in_switch = 0;
    return Py_NewRef((PyObject *)self);
}

/* The value a coroutine's throw() or send() returned with, from the StopIteration it
 * raised (owned; NULL with the error kept if the error is anything else). */
static PyObject *
stop_value(void)
{
    if (!PyErr_ExceptionMatches(PyExc_StopIteration)) {
        return NULL;
    }
    PyObject *value;
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *stop = PyErr_GetRaisedException();
    value = PyObject_GetAttrString(stop, "value");
    Py_DECREF(stop);
#else
    PyObject *type, *stop, *traceback;
    PyErr_Fetch(&type, &stop, &traceback);
    PyErr_NormalizeException(&type, &stop, &traceback);
    value = stop == NULL ? Py_NewRef(Py_None) : PyObject_GetAttrString(stop, "value");
    Py_XDECREF(type);
    Py_XDECREF(stop);
    Py_XDECREF(traceback);
#endif
    return value;
}

/* One step of the chain: ``value`` sent (or, with ``throw_args`` set, those thrown) into
 * the coroutine awaited now, and on through the switches while the greenlet hands back
 * plain coroutines in the task's context. PYGEN_NEXT: *result is what to yield to the
 * task; PYGEN_RETURN: *result is the await's value; PYGEN_ERROR: raised. */
static PySendResult
chain_step(InlineChain *self, PyObject *value, PyObject *throw_args, PyObject **result)
{
    State *st = self->state;
    *result = NULL;
    if (self->running) {
        PyErr_SetString(PyExc_ValueError, "InlineChain already executing");
        return PYGEN_ERROR;
    }
    if (self->request == NULL || self->in_switch) {
        PyErr_SetString(PyExc_RuntimeError, "InlineChain awaited without follow(request)");
        return PYGEN_ERROR;
    }
    self->running = 1;
    Py_INCREF(value);
    PySendResult status;
    for (;;) {
        /* Owned for the step: the coroutine runs Python code. */
        PyObject *request = Py_NewRef(self->request);
        PyObject *out;
        if (throw_args != NULL) {
            PyObject *throw_ = PyObject_GetAttr(request, st->str_throw);
            out = throw_ == NULL ? NULL : PyObject_Call(throw_, throw_args, NULL);
            Py_XDECREF(throw_);
            throw_args = NULL;
            if (out != NULL) {
                status = PYGEN_NEXT;
            }
            else {
                out = stop_value();
                status = out == NULL ? PYGEN_ERROR : PYGEN_RETURN;
            }
        }
        else {
            status = PyIter_Send(request, value, &out);
        }
        Py_DECREF(request);
        Py_DECREF(value);
        value = NULL;
        if (status != PYGEN_RETURN) {
            *result = out; /* a yield for the task (NEXT), or NULL (ERROR) */
            break;
        }
        /* The coroutine returned ``out``: into the greenlet with it. Done with it: an
         * exception from here on is not the coroutine's. */
        Py_CLEAR(self->request);
        self->in_switch = 1;
        PyObject *next = self->loop != Py_None
                             ? switch_in(st, self->switch_, out, self->loop, self->inline_call,
                                         st->threshold)
                             : switch_in_trio(st, self->switch_, out, self->local,
                                              self->inline_call, st->threshold);
        Py_DECREF(out);
        if (next == NULL) {
            status = PYGEN_ERROR; /* in_switch stays set: _drive tells this from the rest */
            break;
        }
        self->in_switch = 0;
        if (Py_IS_TYPE(next, &PyCoro_Type) && current_task_is(st, self->loop, self->task)) {
            PyObject *context = PyObject_GetAttr(self->green, st->str_gr_context);
            int same = context == self->context;
            Py_XDECREF(context);
            if (context == NULL) {
                PyErr_Clear(); /* _drive reads it again itself, and raises what it gets */
            }
            if (same) {
                self->request = next;
                value = Py_NewRef(Py_None);
                continue;
            }
        }
        *result = next;
        break;
    }
    self->running = 0;
    return status;
}

static PySendResult
chain_am_send(InlineChain *self, PyObject *value, PyObject **result)
{
    return chain_step(self, value, NULL, result);
}

/* For tp_iternext and send(): a return becomes StopIteration(value). */
static PyObject *
chain_result(PySendResult status, PyObject *result)
{
    if (status == PYGEN_RETURN) {
        if (result == Py_None) {
            Py_DECREF(result);
            PyErr_SetNone(PyExc_StopIteration);
        }
        else {
            /* A tuple or an exception as the value must not be taken apart. */
            PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, result);
            Py_DECREF(result);
            if (stop != NULL) {
                PyErr_SetObject(PyExc_StopIteration, stop);
                Py_DECREF(stop);
            }
        }
        return NULL;
    }
    return result;
}

static PyObject *
chain_iternext(InlineChain *self)
{
    PyObject *result;
    PySendResult status = chain_step(self, Py_None, NULL, &result);
    return chain_result(status, result);
}

static PyObject *
chain_send(InlineChain *self, PyObject *value)
{
    PyObject *result;
    PySendResult status = chain_step(self, value, NULL, &result);
    return chain_result(status, result);
}

/* throw(...) as a coroutine takes it; passed on to the coroutine awaited now. The legacy
 * (type, value[, traceback]) form is passed as the single exception it raises where that
 * is certain, so that 3.12+ does not warn of that form on our behalf: a class with an
 * instance of it (its traceback the one given, a fresh one without: as Python's own
 * delegation raises it), or an instance with no separate value (its traceback kept
 * unless one is given). Any other form -- a value to make an instance from, a
 * mismatched class, an instance with a value, a third argument that is no traceback --
 * goes on as given: the coroutine's throw() makes the exception, or refuses the form,
 * in the same frame as ``await request`` would. */
static PyObject *
chain_throw(InlineChain *self, PyObject *args)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (n < 1 || n > 3) {
        PyErr_SetString(PyExc_TypeError, "throw() takes 1 to 3 arguments");
        return NULL;
    }
    PyObject *forwarded = NULL;
    if (n > 1) {
        PyObject *type = PyTuple_GET_ITEM(args, 0);
        PyObject *value = PyTuple_GET_ITEM(args, 1);
        PyObject *traceback = n == 3 ? PyTuple_GET_ITEM(args, 2) : Py_None;
        PyObject *exc = NULL;
        if (traceback == Py_None || PyTraceBack_Check(traceback)) {
            if (PyExceptionClass_Check(type) && PyObject_TypeCheck(value, (PyTypeObject *)type)) {
                exc = value;
                if (PyException_SetTraceback(exc, traceback) < 0) {
                    return NULL;
                }
            }
            else if (PyExceptionInstance_Check(type) && value == Py_None) {
                exc = type;
                if (traceback != Py_None && PyException_SetTraceback(exc, traceback) < 0) {
                    return NULL;
                }
            }
        }
        if (exc != NULL) {
            forwarded = PyTuple_Pack(1, exc);
            if (forwarded == NULL) {
                return NULL;
            }
        }
    }
    if (forwarded == NULL) {
        forwarded = Py_NewRef(args);
    }
    PyObject *result;
    PySendResult status = chain_step(self, Py_None, forwarded, &result);
    Py_DECREF(forwarded);
    return chain_result(status, result);
}

/* close(): the coroutine awaited now is closed (its finally blocks run); _drive then
 * ends the greenlet itself (_close_greenlet). */
static PyObject *
chain_close(InlineChain *self, PyObject *Py_UNUSED(ignored))
{
    if (self->running) {
        PyErr_SetString(PyExc_ValueError, "InlineChain already executing");
        return NULL;
    }
    if (self->request == NULL || self->in_switch) {
        Py_RETURN_NONE;
    }
    PyObject *request = Py_NewRef(self->request);
    PyObject *done = PyObject_CallMethodNoArgs(request, self->state->str_close);
    Py_DECREF(request);
    return done;
}

static PyObject *
chain_await(InlineChain *self)
{
    return Py_NewRef((PyObject *)self);
}

static PyObject *
chain_get_request(InlineChain *self, void *Py_UNUSED(closure))
{
    return Py_NewRef(self->request == NULL ? Py_None : self->request);
}

static PyObject *
chain_get_in_switch(InlineChain *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->in_switch);
}

static PyMethodDef chain_methods[] = {
    {"follow", (PyCFunction)chain_follow, METH_O, "Await ``request`` next; the chain itself."},
    {"send", (PyCFunction)chain_send, METH_O, "As a coroutine's send()."},
    {"throw", (PyCFunction)chain_throw, METH_VARARGS, "As a coroutine's throw()."},
    {"close", (PyCFunction)chain_close, METH_NOARGS, "Close the coroutine awaited now."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef chain_getset[] = {
    {"request", (getter)chain_get_request, NULL, "The coroutine awaited now (None: none).",
     NULL},
    {"in_switch", (getter)chain_get_in_switch, NULL,
     "True if the last exception came from a switch into the greenlet.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot chain_slots[] = {
    {Py_tp_doc, "The driving task's awaits of one inline call (see _inline._drive)."},
    {Py_tp_new, chain_new},
    {Py_tp_dealloc, chain_dealloc},
    {Py_tp_traverse, chain_traverse},
    {Py_tp_clear, chain_clear},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, chain_iternext},
    {Py_tp_methods, chain_methods},
    {Py_tp_getset, chain_getset},
    {Py_am_await, chain_await},
#if PY_VERSION_HEX >= 0x030A0000
    {Py_am_send, chain_am_send},
#endif
    {0, NULL},
};

static PyType_Spec chain_spec = {
    .name = "synchronaut_core._speedups.InlineChain",
    .basicsize = sizeof(InlineChain),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = chain_slots,
};

/* setup_inline(set_running_loop, getcurrent, green_type, enter): inline mode is in use
 * from now on (asyncio._set_running_loop, greenlet.getcurrent, _inline._Green,
 * _inline._enter). */
static PyObject *
setup_inline(PyObject *module, PyObject *args)
{
    State *st = module_state(module);
    PyObject *set_loop, *getcurrent, *green_type, *enter;
    if (!PyArg_ParseTuple(args, "OOO!O:setup_inline", &set_loop, &getcurrent, &PyType_Type,
                          &green_type, &enter)) {
        return NULL;
    }
    if (!PyCallable_Check(set_loop) || !PyCallable_Check(getcurrent) || !PyCallable_Check(enter)) {
        PyErr_SetString(PyExc_TypeError, "setup_inline() takes callables (and a type third)");
        return NULL;
    }
    if (watch_forks() < 0) {
        return NULL;
    }
    Py_XSETREF(st->set_running_loop, Py_NewRef(set_loop));
    Py_XSETREF(st->getcurrent, Py_NewRef(getcurrent));
    Py_XSETREF(st->py_inline_enter, Py_NewRef(enter));
    Py_XSETREF(st->green_type, Py_NewRef(green_type));
    Py_RETURN_NONE;
}

/* ``call_any(func, *args, inline=True)`` inside asyncio, of a plain ``def`` (not a
 * generator function, not marked async: the attribute ``inspect.markcoroutinefunction``
 * sets is not in its __dict__) with no other keyword: the awaitable _call._dispatch
 * gives for it, from _inline._enter -- without call_any's Python frame and option
 * checks. 1 with *result set (NULL: raised), 0 if the call is not that one (nothing
 * called, no error set), -1 on error. */
static int
inline_enter(State *st, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
             PyObject **result)
{
    if (st->py_inline_enter == NULL || nargs < 1 || kwnames == NULL
        || PyTuple_GET_SIZE(kwnames) != 1 || args[nargs] != Py_True) {
        return 0;
    }
    PyObject *name = PyTuple_GET_ITEM(kwnames, 0);
    if (!PyUnicode_CheckExact(name) || PyUnicode_Compare(name, st->str_inline) != 0) {
        return PyErr_Occurred() ? -1 : 0;
    }
    PyObject *func = args[0];
    if (!PyFunction_Check(func)) {
        return 0;
    }
    int flags = ((PyCodeObject *)PyFunction_GET_CODE(func))->co_flags;
    if (flags & (CO_ASYNC_MASK | CO_GENERATOR)) {
        return 0;
    }
    PyObject *dict = ((PyFunctionObject *)func)->func_dict; /* may be NULL */
    if (dict != NULL) {
        /* Held for the lookup, as Python's getattr holds it: a key of the dict that is
         * a str subclass compares by its own __eq__, which may replace func.__dict__
         * and free this dict mid-search. The item is only tested, not kept. */
        Py_INCREF(dict);
        int found = PyDict_GetItemWithError(dict, st->str_marker) != NULL;
        Py_DECREF(dict);
        if (found) {
            return 0; /* marked async (or looks so): Python decides */
        }
        if (PyErr_Occurred()) {
            return -1;
        }
    }
    int in_loop = in_asyncio_loop(st);
    if (in_loop <= 0) {
        return in_loop; /* Trio, or no loop: Python's paths */
    }
    PyObject *callee_args = PyTuple_New(nargs - 1);
    if (callee_args == NULL) {
        return -1;
    }
    for (Py_ssize_t i = 1; i < nargs; i++) {
        PyTuple_SET_ITEM(callee_args, i - 1, Py_NewRef(args[i]));
    }
    /* Owned for the call: setup_inline() may replace the field meanwhile. The name
     * is the function's now, as Python's route takes it (_func_name when the call is
     * made: a function renaming itself later is named as it was called), not read
     * later, when a message needs it. */
    PyObject *enter = Py_NewRef(st->py_inline_enter);
    PyObject *func_name = Py_NewRef(((PyFunctionObject *)func)->func_name);
    *result = PyObject_CallFunctionObjArgs(enter, func, callee_args, func_name, NULL);
    Py_DECREF(func_name);
    Py_DECREF(enter);
    Py_DECREF(callee_args);
    return 1;
}

/* The C call_any; ``module`` is this module (the function's __self__). The caller owns
 * every argument for the duration of the call (the vectorcall protocol). */
static PyObject *
call_any(PyObject *module, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    State *st = module_state(module);
    if (check_ready(st) < 0) {
        return NULL;
    }
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs < 1) {
        goto python;
    }
    int option = has_option(st, kwnames);
    if (option != 0) {
        if (option < 0) {
            return NULL;
        }
        PyObject *result;
        int entered = inline_enter(st, args, nargs, kwnames, &result);
        if (entered != 0) {
            return entered < 0 ? NULL : result;
        }
        goto python;
    }
    PyObject *func = args[0];
    int flags = function_flags(func);
    if (flags == -1) {
        goto python;
    }
    int in_loop = in_asyncio_loop(st);
    if (in_loop < 0) {
        return NULL;
    }
    int in_trio = in_loop ? TRIO_NO : trio_running(st);
    if (in_trio < 0) {
        return NULL;
    }
    if (in_trio == TRIO_ASK_PYTHON) {
        goto python;
    }
    if (flags & CO_ASYNC_MASK) {
        if (in_loop || in_trio) {
            /* asyncio/Trio -> async: the coroutine (or async generator) itself. */
            return call_charged(func, args + 1, nargs - 1, kwnames);
        }
        /* Python's ``type(func) is FunctionType`` (functions cannot be subclassed). */
        if ((flags & CO_COROUTINE) && PyFunction_Check(func) && st->green_type != NULL) {
            PyObject *result;
            if (inline_await(st, func, args + 1, nargs - 1, kwnames, &result)) {
                return result;
            }
        }
        goto python;
    }
    if (in_loop || in_trio) {
        goto python;
    }
    /* sync -> sync: a direct call. */
    return resolve(st, call_charged(func, args + 1, nargs - 1, kwnames), func);
python:
    return PyObject_Vectorcall(st->py_call_any, args, nargsf, kwnames);
}

/* --- DirectCall: the base type of synchronaut's decorated functions -------------- *
 * A wrapper, or a bound form of one (obj.method: unbound and target set, called as
 * unbound(target, *args)); see _decorator._Wrapper and _decorator._Bound. */

enum { KIND_NONE = 0, KIND_SYNC = 1, KIND_ASYNC = 2 };

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    /* The module state of the type's defining module: alive as long as this object
     * (the object holds its type, a heap type holds its module). Not a reference. */
    State *state;
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

/* ``func(first, *args)``, by ``call`` (func's own vectorcall) when given, with the
 * argument-shifting of CPython's bound methods: the caller's lent slot before args[0]
 * when it lent one, else a copy. The caller owns func and first for the duration. */
static PyObject *
call_with_first(PyObject *func, vectorcallfunc call, PyObject *first, PyObject *const *args,
                size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t total = nargs + (kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames));
    PyObject *result;
    if (nargsf & PY_VECTORCALL_ARGUMENTS_OFFSET) {
        /* The caller lent us the slot before args[0]: put ``first`` there. */
        PyObject **shifted = (PyObject **)args - 1;
        PyObject *saved = shifted[0];
        shifted[0] = first;
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
    stack[0] = first;
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

/* The generic call: the type's Python ``_call(self, *args, **kwargs)``, arguments
 * unchanged. Looked up on the type, as the pure path's ``__call__ = _call`` is found:
 * never in the wrapper's __dict__, which holds the original's attributes (a function
 * attribute named ``_call`` must not replace the call). */
static PyObject *
direct_call_python(State *st, PyObject *callable, PyObject *const *args, size_t nargsf,
                   PyObject *kwnames)
{
    PyObject *method = PyObject_GetAttr((PyObject *)Py_TYPE(callable), st->str_call);
    if (method == NULL) {
        return NULL;
    }
    PyObject *result;
    if (PyFunction_Check(method)) {
        result = call_with_first(method, NULL, callable, args, nargsf, kwnames);
    }
    else {
        /* Not a plain function (never so in synchronaut): bind it as attribute
         * access on the type's instance would. */
        descrgetfunc get = Py_TYPE(method)->tp_descr_get;
        PyObject *bound =
            get != NULL ? get(method, callable, (PyObject *)Py_TYPE(callable)) : Py_NewRef(method);
        result = bound == NULL ? NULL : PyObject_Vectorcall(bound, args, nargsf, kwnames);
        Py_XDECREF(bound);
    }
    Py_DECREF(method);
    return result;
}

static PyObject *direct_call_impl(DirectCall *self, PyObject *const *args, size_t nargsf,
                                  PyObject *kwnames);

/* A call of a decorated function. The two hot paths -- a decorated def called from
 * sync code, a decorated async def called inside asyncio or Trio -- are taken here;
 * every other case goes to the type's Python ``_call(*args, **kwargs)``, unchanged.
 * Charged as the pure path's ``_call`` frame (see enter_frame): a wrapper can call a
 * wrapper (stacked decorators, a bound form's wrapper) without any Python frame in
 * between, and a deep chain must raise RecursionError, not overflow the C stack. */
static PyObject *
direct_call_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                       PyObject *kwnames)
{
    if (enter_frame("", 1) < 0) {
        return NULL;
    }
    PyObject *result = direct_call_impl((DirectCall *)callable, args, nargsf, kwnames);
    leave_frame(1);
    return result;
}

static PyObject *
direct_call_impl(DirectCall *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    PyObject *callable = (PyObject *)self;
    State *st = self->state;
    if (check_ready(st) < 0) {
        return NULL;
    }
    int kind = self->kind;
    if (self->direct_func == NULL || self->direct_func == Py_None || kind == KIND_NONE) {
        return direct_call_python(st, callable, args, nargsf, kwnames);
    }
    /* Owned from here: the loop and Trio tests run Python code, which may set
     * _direct_func (dropping the last reference to the old one). */
    PyObject *func = Py_NewRef(self->direct_func);
    PyObject *result;
    int in_loop = in_asyncio_loop(st);
    if (in_loop < 0) {
        goto error;
    }
    int in_trio = in_loop ? TRIO_NO : trio_running(st);
    if (in_trio < 0) {
        goto error;
    }
    if (in_trio != TRIO_ASK_PYTHON) {
        if (kind == KIND_ASYNC && (in_loop || in_trio)) {
            /* asyncio/Trio -> async: the coroutine, awaited in the caller's task. */
            result = PyObject_Vectorcall(func, args, nargsf, kwnames);
            Py_DECREF(func);
            return result;
        }
        if (kind == KIND_SYNC && !in_loop && !in_trio) {
            /* sync -> sync: a direct call. */
            result = resolve(st, PyObject_Vectorcall(func, args, nargsf, kwnames), func);
            Py_DECREF(func);
            return result;
        }
    }
    Py_DECREF(func);
    return direct_call_python(st, callable, args, nargsf, kwnames);
error:
    Py_DECREF(func);
    return NULL;
}

/* A call of a bound form: the wrapper it was bound from, called with the instance (or
 * class) first -- what a bound method does. */
static PyObject *
bound_call_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                      PyObject *kwnames)
{
    DirectCall *self = (DirectCall *)callable;
    if (self->unbound == NULL || self->target == NULL) {
        PyErr_SetString(PyExc_TypeError, "a synchronaut bound form without its function");
        return NULL;
    }
    /* Owned for the call: the callee runs Python code that could drop the fields'
     * references (the form's __dict__ is its own, but its fields are writable from C
     * subclasses and cleared by the garbage collector). */
    PyObject *func = Py_NewRef(self->unbound), *target = Py_NewRef(self->target);
    /* The wrapper's own C call when its type calls through it (Python subclasses of
     * DirectCall do not all carry the vectorcall flag: this saves packing the
     * arguments into a tuple); a type with a Python __call__ goes the generic way. */
    PyTypeObject *base = self->state->direct_call_type; /* NULL once finalized */
    vectorcallfunc call = base != NULL && PyObject_TypeCheck(func, base)
                                  && Py_TYPE(func)->tp_call == PyVectorcall_Call
                              ? ((DirectCall *)func)->vectorcall
                              : NULL;
    PyObject *result = call_with_first(func, call, target, args, nargsf, kwnames);
    Py_DECREF(func);
    Py_DECREF(target);
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
    /* Owned around the allocation: it may run the garbage collector, and so
     * finalizers that reset this wrapper's _bound_type. */
    PyTypeObject *bound_type = (PyTypeObject *)Py_NewRef(self->bound_type);
    DirectCall *bound = (DirectCall *)bound_type->tp_alloc(bound_type, 0);
    if (bound != NULL) {
        bound->vectorcall = bound_call_vectorcall;
        bound->state = self->state;
        bound->unbound = Py_NewRef(self_);
        bound->target = Py_NewRef(target);
    }
    Py_DECREF(bound_type);
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
    /* Checked here, once: the descriptor allocates instances of it (of this
     * interpreter's DirectCall, so that the bound forms find the same state). */
    if (!PyType_Check(value)
        || !PyType_IsSubtype((PyTypeObject *)value, self->state->direct_call_type)) {
        PyErr_SetString(PyExc_TypeError, "_bound_type must be None or a subclass of DirectCall");
        return -1;
    }
    Py_XSETREF(self->bound_type, Py_NewRef(value));
    return 0;
}

static PyObject *
direct_call_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    State *st = state_of_type(type);
    if (st == NULL) {
        return NULL;
    }
    DirectCall *self = (DirectCall *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->vectorcall = direct_call_vectorcall;
        self->state = st;
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

/* As a Python class's __weakref__ (the pure _PyDirectCall has one): the first weak
 * reference to the object, or None. */
static PyObject *
direct_call_get_weakref(DirectCall *self, void *closure)
{
    return Py_NewRef(self->weakreflist != NULL ? self->weakreflist : Py_None);
}

static PyGetSetDef direct_call_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict},
    {"__weakref__", (getter)direct_call_get_weakref, NULL,
     "list of weak references to the object"},
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
    PyTypeObject *base = module_state(module)->direct_call_type;
    if (base == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "synchronaut_core._speedups is finalized");
        return NULL;
    }
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, base)) {
        PyErr_SetString(PyExc_TypeError, "adopt() takes a subclass of DirectCall");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)cls;
    if (!(type->tp_flags & Py_TPFLAGS_HEAPTYPE) || type->tp_basicsize != base->tp_basicsize
        || type->tp_itemsize != 0 || type->tp_dictoffset != base->tp_dictoffset
        || type->tp_weaklistoffset != base->tp_weaklistoffset || type->tp_del != NULL) {
        /* Fields of its own (__slots__) or a legacy finalizer: the generic one is right. */
        PyErr_Format(PyExc_TypeError, "%s adds fields to DirectCall: it cannot be adopted",
                     type->tp_name);
        return NULL;
    }
    type->tp_dealloc = (destructor)direct_call_dealloc;
    Py_RETURN_NONE;
}

/* setup(get_running_loop, python_call_any, resolve_coroutine, close_if_unstarted,
 *       option_names, coroutine_types, doc)
 * -> the C call_any, documented with `doc` and belonging to module synchronaut_core.
 * option_names: call_any's keyword-only parameters, read by _call.py from the Python
 * definition -- a call naming one of them goes to Python; C keeps no list of its own.
 * coroutine_types: _detect._COROUTINE_TYPES, the table the pure hot paths consult. */
static PyObject *
setup(PyObject *module, PyObject *args)
{
    State *st = module_state(module);
    PyObject *loop_fn, *fallback, *resolver, *closer, *names, *table;
    const char *doc;
    if (!PyArg_ParseTuple(args, "OOOOO!O!s:setup", &loop_fn, &fallback, &resolver, &closer,
                          &PyTuple_Type, &names, &PyDict_Type, &table, &doc)) {
        return NULL;
    }
    if (!PyCallable_Check(loop_fn) || !PyCallable_Check(fallback) || !PyCallable_Check(resolver)
        || !PyCallable_Check(closer)) {
        PyErr_SetString(PyExc_TypeError, "setup() takes four callables first");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(names, i))) {
            PyErr_SetString(PyExc_TypeError, "setup(): option_names must be a tuple of str");
            return NULL;
        }
    }
    if (st->call_any_doc == NULL) {
        /* Kept with the module, like the definition the function object points to (a
         * second setup() -- a reload of _call -- keeps the first text). */
        char *copy = PyMem_Malloc(strlen(doc) + 1);
        if (copy == NULL) {
            return PyErr_NoMemory();
        }
        strcpy(copy, doc);
        st->call_any_doc = copy;
        st->call_any_def.ml_name = "call_any";
        st->call_any_def.ml_meth = (PyCFunction)(void (*)(void))call_any;
        st->call_any_def.ml_flags = METH_FASTCALL | METH_KEYWORDS;
        st->call_any_def.ml_doc = copy;
    }
    /* The record is read here only for _asyncio's own function (the C asyncio, whose
     * record this file knows): anything else -- the pure-Python asyncio, a stand-in --
     * is called. */
    PyObject *asyncio_c = PyImport_GetModule(st->str_asyncio_c); /* new, or NULL */
    PyObject *theirs = NULL;
    if (asyncio_c != NULL && PyModule_CheckExact(asyncio_c)) {
        /* (Not None: sys.modules["_asyncio"] = None blocks it, asyncio is pure.) */
        theirs = PyObject_GetAttrString(asyncio_c, "_get_running_loop");
        if (theirs == NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Clear(); /* a module of that name without it: not the C asyncio */
        }
    }
    Py_XDECREF(asyncio_c);
    if (theirs == NULL && PyErr_Occurred()) {
        return NULL;
    }
    st->record_readable = theirs != NULL && theirs == loop_fn;
    Py_XDECREF(theirs);
    Py_XSETREF(st->get_running_loop, Py_NewRef(loop_fn));
    Py_XSETREF(st->py_call_any, Py_NewRef(fallback));
    Py_XSETREF(st->py_resolve, Py_NewRef(resolver));
    Py_XSETREF(st->py_close, Py_NewRef(closer));
    Py_XSETREF(st->option_names, Py_NewRef(names));
    Py_XSETREF(st->coroutine_types, Py_NewRef(table));
    PyObject *module_name = PyUnicode_FromString("synchronaut_core");
    if (module_name == NULL) {
        return NULL;
    }
    PyObject *function = PyCFunction_NewEx(&st->call_any_def, module, module_name);
    Py_DECREF(module_name);
    return function;
}

static PyMethodDef methods[] = {
    {"setup", setup, METH_VARARGS,
     "Install call_any's Python fallbacks and option names; return the C call_any."},
    {"setup_inline", setup_inline, METH_VARARGS,
     "Inline mode is in use: call_any looks for inline calls from now on."},
    {"hide_running_loop", hide_running_loop, METH_O,
     "Hide the thread's running asyncio loop (for inline code); a token for show_running_loop."},
    {"show_running_loop", (PyCFunction)(void (*)(void))show_running_loop, METH_FASTCALL,
     "Undo hide_running_loop(loop): the loop running on this thread again."},
    {"inline_switch", (PyCFunction)(void (*)(void))inline_switch, METH_FASTCALL,
     "Switch into an inline greenlet, the loop hidden meanwhile (see _inline._switch_in_py)."},
    {"set_inline_threshold", set_inline_threshold, METH_O,
     "The inline blocking guard's threshold for InlineChain (seconds; None: off)."},
    {"adopt", adopt, METH_O,
     "Deallocate instances of a field-less Python subclass of DirectCall with its C code."},
    {NULL, NULL, 0, NULL},
};

static int
module_exec(PyObject *module)
{
    State *st = module_state(module);
    if ((st->str_trio = PyUnicode_InternFromString("trio")) == NULL
        || (st->str_sniffio = PyUnicode_InternFromString("sniffio")) == NULL
        || (st->str_thread_local = PyUnicode_InternFromString("thread_local")) == NULL
        || (st->str_name = PyUnicode_InternFromString("name")) == NULL
        || (st->str_call = PyUnicode_InternFromString("_call")) == NULL
        || (st->str_inline = PyUnicode_InternFromString("inline")) == NULL
        || (st->str_back = PyUnicode_InternFromString("back")) == NULL
        || (st->str_marker = PyUnicode_InternFromString("_is_coroutine_marker")) == NULL
        || (st->str_running_key = PyUnicode_InternFromString("__asyncio_running_event_loop__"))
               == NULL
        || (st->str_gr_context = PyUnicode_InternFromString("gr_context")) == NULL
        || (st->str_throw = PyUnicode_InternFromString("throw")) == NULL
        || (st->str_close = PyUnicode_InternFromString("close")) == NULL
        || (st->str_report = PyUnicode_InternFromString("report")) == NULL
        || (st->str_asyncio_c = PyUnicode_InternFromString("_asyncio")) == NULL) {
        return -1;
    }
    st->threshold = -1.0; /* off until _inline, which holds the default, mirrors it */
    PyObject *chain = PyType_FromModuleAndSpec(module, &chain_spec, NULL);
    if (chain == NULL) {
        return -1;
    }
    st->chain_type = (PyTypeObject *)chain; /* the state's reference */
    if (PyModule_AddObjectRef(module, "InlineChain", chain) < 0) {
        return -1;
    }
    PyObject *type = PyType_FromModuleAndSpec(module, &direct_call_spec, NULL);
    if (type == NULL) {
        return -1;
    }
    st->direct_call_type = (PyTypeObject *)type; /* the state's reference */
    return PyModule_AddObjectRef(module, "DirectCall", type);
}

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
    State *st = module_state(module);
    if (st == NULL) {
        return 0;
    }
    Py_VISIT(st->get_running_loop);
    Py_VISIT(st->py_call_any);
    Py_VISIT(st->py_resolve);
    Py_VISIT(st->py_close);
    Py_VISIT(st->option_names);
    Py_VISIT(st->coroutine_types);
    Py_VISIT(st->getcurrent);
    Py_VISIT(st->green_type);
    Py_VISIT(st->set_running_loop);
    Py_VISIT(st->py_inline_enter);
    Py_VISIT(st->current_task);
    Py_VISIT(st->direct_call_type);
    Py_VISIT(st->chain_type);
    Py_VISIT(st->holder_type);
    return 0;
}

static int
module_clear(PyObject *module)
{
    State *st = module_state(module);
    if (st == NULL) {
        return 0;
    }
    Py_CLEAR(st->get_running_loop);
    Py_CLEAR(st->py_call_any);
    Py_CLEAR(st->py_resolve);
    Py_CLEAR(st->py_close);
    Py_CLEAR(st->option_names);
    Py_CLEAR(st->coroutine_types);
    Py_CLEAR(st->getcurrent);
    Py_CLEAR(st->green_type);
    Py_CLEAR(st->set_running_loop);
    Py_CLEAR(st->py_inline_enter);
    Py_CLEAR(st->current_task);
    Py_CLEAR(st->str_trio);
    Py_CLEAR(st->str_sniffio);
    Py_CLEAR(st->str_thread_local);
    Py_CLEAR(st->str_name);
    Py_CLEAR(st->str_call);
    Py_CLEAR(st->str_inline);
    Py_CLEAR(st->str_back);
    Py_CLEAR(st->str_marker);
    Py_CLEAR(st->str_running_key);
    Py_CLEAR(st->direct_call_type);
    Py_CLEAR(st->chain_type);
    Py_CLEAR(st->holder_type);
    Py_CLEAR(st->str_gr_context);
    Py_CLEAR(st->str_throw);
    Py_CLEAR(st->str_close);
    Py_CLEAR(st->str_report);
    Py_CLEAR(st->str_asyncio_c);
    return 0;
}

static void
module_free(void *module)
{
    module_clear((PyObject *)module);
    State *st = module_state((PyObject *)module);
    if (st != NULL && st->call_any_doc != NULL) {
        PyMem_Free(st->call_any_doc);
        st->call_any_doc = NULL;
    }
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
#if PY_VERSION_HEX >= 0x030C0000
    /* All state is per module, every type a heap type of its module: safe in
     * subinterpreters, including those with a GIL of their own. */
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#if PY_VERSION_HEX >= 0x030D0000
    /* Relies on the GIL (_accelerator never imports it on a free-threaded build). */
    {Py_mod_gil, Py_MOD_GIL_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "synchronaut_core._speedups",
    .m_doc = "C hot paths of synchronaut_core (optional; see _call.py).",
    .m_size = sizeof(State),
    .m_methods = methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&module_def);
}
