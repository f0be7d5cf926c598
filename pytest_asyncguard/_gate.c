/* The guard's fast path in C: a patched function called where no event loop
 * runs (sync code, worker threads) forwards to the original after one call of
 * asyncio's _get_running_loop(), with no Python frame in between.
 *
 * A Python forwarding wrapper costs about 175 ns per call on the machines we
 * measure (a frame, packing *args and **kwargs); this one costs a few tens. When
 * a loop runs in the calling thread, the call goes to the Python wrapper that
 * records the hit (guard.py), with the arguments passed on unchanged.
 *
 * A Gate binds like a function (it is a method descriptor), so it can stand in
 * for a method in a class's dict as well as for a module's function.
 * guard.py falls back to its Python wrappers when this module is not built.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <structmember.h>  /* PyMemberDef on Python < 3.12 */

#ifndef Py_TPFLAGS_HAVE_VECTORCALL
#define Py_TPFLAGS_HAVE_VECTORCALL _Py_TPFLAGS_HAVE_VECTORCALL
#endif

typedef struct {
    PyObject_HEAD
    PyObject *original;    /* the function that was patched */
    PyObject *guarded;     /* the Python wrapper that records a call on a loop */
    PyObject *running;     /* asyncio's _get_running_loop */
    PyObject *try_first;   /* or NULL: a lock type's own acquire */
    PyObject *dict;        /* __name__, __wrapped__, ... (functools.wraps) */
    PyObject *weakrefs;    /* a function can be weakly referenced: so can its stand-in */
    vectorcallfunc vectorcall;
} GateObject;

static PyObject *
gate_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    GateObject *self = (GateObject *)op;
    if (self->try_first != NULL && PyVectorcall_NARGS(nargsf) == 1 && kwnames == NULL) {
        /* `with lock:` or lock.acquire(): taking a free lock is no wait, on a
         * loop or not. Tried before asking for the running loop, which costs a
         * getpid() system call on Python 3.11 whenever a loop runs. Calls with
         * arguments (blocking, timeout) take the normal path, which checks them. */
        PyObject *try_args[2] = {args[0], Py_False};
        PyObject *taken = PyObject_Vectorcall(self->try_first, try_args, 2, NULL);
        if (taken == NULL) {
            PyErr_Clear(); /* not a lock after all: the real call will say so */
        }
        else if (taken == Py_True) {
            return taken;
        }
        else {
            Py_DECREF(taken);
        }
    }
    PyObject *target = self->guarded;
    PyObject *loop = PyObject_CallNoArgs(self->running);
    if (loop == NULL) {
        /* never fail the caller's call for the guard's sake */
        PyErr_Clear();
        target = self->original;
    }
    else {
        if (loop == Py_None) {
            target = self->original;
        }
        Py_DECREF(loop);
    }
    return PyObject_Vectorcall(target, args, nargsf, kwnames);
}

static PyObject *
gate_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *original, *guarded, *running, *try_first = Py_None;
    static char *kwlist[] = {"original", "guarded", "get_running_loop", "try_first", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO|O:Gate", kwlist,
                                     &original, &guarded, &running, &try_first)) {
        return NULL;
    }
    if (!PyCallable_Check(original) || !PyCallable_Check(guarded) ||
        !PyCallable_Check(running) || (try_first != Py_None && !PyCallable_Check(try_first))) {
        PyErr_SetString(PyExc_TypeError, "Gate() arguments must be callable");
        return NULL;
    }
    GateObject *self = (GateObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    Py_INCREF(original);
    Py_INCREF(guarded);
    Py_INCREF(running);
    self->original = original;
    self->guarded = guarded;
    self->running = running;
    self->try_first = NULL;
    if (try_first != Py_None) {
        Py_INCREF(try_first);
        self->try_first = try_first;
    }
    self->dict = NULL;
    self->weakrefs = NULL;
    self->vectorcall = gate_vectorcall;
    return (PyObject *)self;
}

static int
gate_traverse(GateObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->original);
    Py_VISIT(self->guarded);
    Py_VISIT(self->running);
    Py_VISIT(self->try_first);
    Py_VISIT(self->dict);
    return 0;
}

static int
gate_clear(GateObject *self)
{
    Py_CLEAR(self->original);
    Py_CLEAR(self->guarded);
    Py_CLEAR(self->running);
    Py_CLEAR(self->try_first);
    Py_CLEAR(self->dict);
    return 0;
}

static void
gate_dealloc(GateObject *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakrefs != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    gate_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Bind like a function: looked up on an instance, a bound method. */
static PyObject *
gate_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None) {
        Py_INCREF(self);
        return self;
    }
    return PyMethod_New(self, obj);
}

static PyObject *
gate_repr(GateObject *self)
{
    return PyUnicode_FromFormat("<asyncguard gate for %R>", self->original);
}

/* copy.copy() and copy.deepcopy() treat functions as atoms: so must their stand-in
 * (a deep copy of an object holding time.sleep must not fail while it is patched). */
static PyObject *
gate_self(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    Py_INCREF(self);
    return self;
}

static PyMethodDef gate_methods[] = {
    {"__copy__", gate_self, METH_NOARGS, NULL},
    {"__deepcopy__", gate_self, METH_O, NULL},
    {NULL}
};

static PyMemberDef gate_members[] = {
    {"original", T_OBJECT, offsetof(GateObject, original), READONLY,
     "the function that was patched"},
    {"guarded", T_OBJECT, offsetof(GateObject, guarded), READONLY,
     "the wrapper called when an event loop runs in the calling thread"},
    {NULL}
};

static PyGetSetDef gate_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict},
    {NULL}
};

static PyTypeObject GateType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pytest_asyncguard._gate.Gate",
    .tp_doc = "Gate(original, guarded, get_running_loop, try_first=None): call original "
              "unless an event loop runs in the calling thread, then guarded. With "
              "try_first (a lock type's own acquire), a free lock is taken first, "
              "and nothing else is called.",
    .tp_basicsize = sizeof(GateObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
                Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_new = gate_new,
    .tp_dealloc = (destructor)gate_dealloc,
    .tp_traverse = (traverseproc)gate_traverse,
    .tp_clear = (inquiry)gate_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(GateObject, vectorcall),
    .tp_descr_get = gate_descr_get,
    .tp_dictoffset = offsetof(GateObject, dict),
    .tp_weaklistoffset = offsetof(GateObject, weakrefs),
    .tp_repr = (reprfunc)gate_repr,
    .tp_methods = gate_methods,
    .tp_members = gate_members,
    .tp_getset = gate_getset,
};

static struct PyModuleDef gate_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pytest_asyncguard._gate",
    .m_doc = "The guard's fast path for calls made where no event loop runs.",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__gate(void)
{
    if (PyType_Ready(&GateType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&gate_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&GateType);
    if (PyModule_AddObject(module, "Gate", (PyObject *)&GateType) < 0) {
        Py_DECREF(&GateType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
