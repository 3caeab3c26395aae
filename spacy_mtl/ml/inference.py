"""Thread safety for torch inference.

thinc's PyTorchShim.predict switches its module to eval mode, runs it, and
switches it back to train mode; a second thread predicting with the same
module at that moment would run with dropout on. Every torch forward pass in
prediction holds this lock, so one loaded pipeline can serve many threads
(the heads that are pure thinc have no such mode and need no lock).
"""
import threading
from functools import lru_cache

from threadpoolctl import ThreadpoolController

TORCH_PREDICT_LOCK = threading.RLock()


@lru_cache(maxsize=1)
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


def single_threaded_blas():
    """A context in which numpy's BLAS (OpenBLAS here) runs on one thread, for
    the products a head computes in numpy.

    OpenBLAS's worker threads keep spinning for a while after a multi-threaded
    product; on a small machine they hold the cores that torch's threads need
    next (the biaffine heads after srl ran at about half speed). One thread
    gives the same numbers, and those products are small.
    """
    return _blas_controller().limit(limits=1, user_api="blas")
