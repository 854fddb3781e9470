//! The explanations of the rules every call can meet: the file-descriptor layer, a pending
//! socket error, and the model's own refusal to guess ([`Rule::ModelUndetermined`](super::Rule::ModelUndetermined)).

use super::{e, Explanation};

pub(super) const BAD_FD: Explanation = e(
    "fdget (fs/file.c)",
    "no open file at that descriptor",
    "Every socket call starts by looking its descriptor up in the process's file table. Nothing is open there (never opened, or already closed), so the call fails with EBADF before any socket code runs.",
);

pub(super) const BAD_FD_NUMBER: Explanation = e(
    "dup2 / ksys_dup3 (fs/file.c)",
    "the target descriptor number is negative",
    "Placing a socket at a descriptor number is dup2(): a negative number is not a descriptor, so the call fails with EBADF.",
);

pub(super) const TOO_MANY_FDS_IN_ONE_MESSAGE: Explanation = e(
    "scm_fp_copy (net/core/scm.c)",
    "more than SCM_MAX_FD (253) descriptors in one SCM_RIGHTS message",
    "One SCM_RIGHTS control message carries at most 253 file descriptors. A message with more is refused with EINVAL before anything is queued; split the descriptors over several messages.",
);

pub(super) const PENDING_ERROR: Explanation = e(
    "sock_error (include/net/sock.h)",
    "sk_err is set",
    "An earlier event left an error on the socket (for example ECONNRESET when a peer closed with unread data). The next call that checks sk_err reports it once and clears it; the call after that proceeds normally.",
);

pub(super) const MODEL_UNDETERMINED: Explanation = e(
    "(the model: no single Linux function)",
    "Linux's answer depends on timing, a keyed hash, routes or buffer sizes the model does not know",
    "The model does not guess: where the real answer depends on softirq timing, a hash keyed by a random secret, routes to other interfaces or truesizes known only within bounds, the step is reported as undetermined with the reason, and the planner never builds on it.",
);
