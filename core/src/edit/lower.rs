//! Edits lowered onto the simulated kernel: the scenario is put on a [`Kernel`] (written as an
//! image, planned and run as the restore would, each socket keeping its plan slot), the edit's
//! system call is applied there as a [`sim::Op`](Op), and the kernel says yes or no — with its
//! errno and the [`Rule`] that decided. The editor itself decides no kernel rule: it turns the
//! user's intent into calls and the calls' results back into the scenario.
//!
//! Every call but a TCP connect is made non-blocking: a call that would wait (an empty accept queue, a full
//! backlog, a full buffer or dgram queue) is an edit that cannot happen now, answered `EAGAIN`
//! by its rule.

use super::error::{Call, EditError, KernelRefusal, NotOnKernel};
use crate::check::Run;
use crate::plan::{self, Phase};
use crate::scenario::Scenario;
use crate::sim::{HostAddrs, Kernel, Op, Slot};
use std::net::SocketAddr;

/// The scenario on the simulated kernel: every socket held by a slot.
pub(super) struct OnKernel {
    pub(super) kernel: Kernel,
    /// The slot of each socket of the scenario (in `sockets` order).
    slots: Vec<Option<Slot>>,
    next: Slot,
}

impl OnKernel {
    /// Put `sc` on the kernel of the loopback host (the host the web app plans for): its plan
    /// run as the restore runs it, except that the plan's own handles are kept open.
    pub(super) fn of(sc: &Scenario) -> Result<OnKernel, EditError> {
        let (bytes, objrefs) = sc.to_image_mapped().map_err(NotOnKernel::Unwritable)?;
        let report = crate::load(&bytes);
        let host = HostAddrs::loopback();
        let plan = plan::plan_on(&report.image, &host).map_err(NotOnKernel::NoPlan)?;
        let mut run = Run::new_on(&plan, &host);
        for (i, step) in plan.steps.iter().enumerate() {
            if step.phase == Phase::Place && matches!(step.op, Op::Close { .. }) {
                continue;
            }
            let out = run.step(step);
            if !out.is_ok() {
                let rule = run.kernel.last_rule;
                return Err(NotOnKernel::Fails { step: i, call: Call::of(&step.op), outcome: out, rule }.into());
            }
        }
        // Socket → its slot, once (a scan per socket would be quadratic).
        let mut slot_of = vec![None; run.kernel.socks.len()];
        for (slot, r) in run.kernel.slots.iter() {
            if let Some(s) = slot_of.get_mut(r).filter(|s| s.is_none()) {
                *s = Some(slot);
            }
        }
        let slots =
            objrefs.iter().map(|o| run.objref_sock.get(o).and_then(|&r| slot_of.get(r).copied().flatten())).collect();
        let kernel = run.detach().kernel;
        let next = kernel.slots.last_key().map_or(0, |s| s.saturating_add(1)).max(plan.slots.len() as Slot);
        Ok(OnKernel { kernel, slots, next })
    }

    /// The slot of socket `i` of the scenario.
    pub(super) fn slot(&self, sc: &Scenario, i: usize) -> Result<Slot, EditError> {
        self.slots.get(i).copied().flatten().ok_or_else(|| {
            NotOnKernel::NotRestored(sc.sockets.get(i).map(|s| s.name.clone()).unwrap_or_default()).into()
        })
    }

    /// A slot no socket uses.
    pub(super) fn new_slot(&mut self) -> Slot {
        let s = self.next;
        self.next = self.next.saturating_add(1);
        s
    }

    /// Make the call (non-blocking, see the module documentation); a refusal carries the
    /// kernel's answer and its rule.
    pub(super) fn call(&mut self, op: Op) -> Result<(), EditError> {
        // (A TCP connect() stays blocking: on loopback the handshake completes within it, where
        // a non-blocking one answers EINPROGRESS.)
        let tcp_connect = |k: &Kernel, s: Slot| matches!(op, Op::Connect { .. }) && k.inet_sock(s).is_some();
        if let Some(slot) =
            op.slots().next().filter(|&s| self.kernel.sock(s).is_some() && !tcp_connect(&self.kernel, s))
        {
            self.kernel.apply(&Op::SetNonblock { slot, on: true });
        }
        let out = self.kernel.apply(&op);
        if out.is_ok() {
            return Ok(());
        }
        Err(EditError::Kernel(KernelRefusal { call: Call::of(&op), outcome: out, rule: self.kernel.last_rule }))
    }

    /// The local address the kernel gave an INET socket.
    pub(super) fn local(&self, slot: Slot) -> Option<SocketAddr> {
        self.kernel.inet_sock(slot).and_then(|i| i.local).filter(|a| a.port() != 0)
    }
}
