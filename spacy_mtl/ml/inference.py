"""Thread safety for torch inference.

thinc's PyTorchShim.predict switches its module to eval mode, runs it, and
switches it back to train mode; a second thread predicting with the same
module at that moment would run with dropout on. Every torch forward pass in
prediction holds this lock, so one loaded pipeline can serve many threads
(the heads that are pure thinc have no such mode and need no lock).
"""
import threading

TORCH_PREDICT_LOCK = threading.RLock()
