//! Properties of the planner and the checker over random socket graphs.

use proptest::prelude::*;
use resocket_core::check::{run_order, run_plan};
use resocket_core::scenario::{MsgSpec, PendingSpec, Scenario, SockSpec};
use resocket_core::sim::{Kernel, Outcome, SockType};
use resocket_core::sock::Family;
use resocket_core::{load, plan};

fn s(name: String, ty: &str) -> SockSpec {
    let ty = SockType::from_word(ty).unwrap_or_else(|| panic!("type {ty:?}"));
    SockSpec { name, family: Family::Unix, ty, ..SockSpec::default() }
}

fn msgs(n: usize, tag: &str) -> Vec<MsgSpec> {
    (0..n).map(|i| MsgSpec { data: Some(format!("{tag}{i}")), ..MsgSpec::default() }).collect()
}

#[derive(Debug, Clone)]
enum Piece {
    Pair { ty: usize, a_msgs: usize, b_msgs: usize, shut: u8, named: bool },
    Listener { ty: usize, backlog: i16, accepted: usize, pending: Vec<(bool, usize)>, path: bool },
    FanIn { senders: usize, msgs: usize, self_connect: bool },
    PeerGone { msgs: usize },
    Lonely { ty: usize, named: bool },
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        (0..3usize, 0..4usize, 0..4usize, 0..4u8, any::<bool>())
            .prop_map(|(ty, a_msgs, b_msgs, shut, named)| Piece::Pair { ty, a_msgs, b_msgs, shut, named }),
        (0..2usize, 0..4i16, 0..3usize, prop::collection::vec((any::<bool>(), 0..3usize), 0..6), any::<bool>())
            .prop_map(|(ty, backlog, accepted, pending, path)| Piece::Listener {
                ty,
                backlog,
                accepted,
                pending,
                path
            }),
        (1..4usize, 0..14usize, any::<bool>()).prop_map(|(senders, msgs, self_connect)| Piece::FanIn {
            senders,
            msgs,
            self_connect
        }),
        (0..3usize).prop_map(|msgs| Piece::PeerGone { msgs }),
        (0..3usize, any::<bool>()).prop_map(|(ty, named)| Piece::Lonely { ty, named }),
    ]
}

const TYPES: [&str; 3] = ["stream", "seqpacket", "dgram"];

fn scenario(pieces: &[Piece]) -> Scenario {
    let mut socks = Vec::new();
    for (k, p) in pieces.iter().enumerate() {
        match p {
            Piece::Pair { ty, a_msgs, b_msgs, shut, named } => {
                let (a, b) = (format!("a{k}"), format!("b{k}"));
                let ty = TYPES[*ty];
                let mut sa = s(a.clone(), ty);
                let mut sb = s(b.clone(), ty);
                sa.pair = Some(b.clone());
                sb.pair = Some(a.clone());
                sa.queue = msgs(*a_msgs, "to-a");
                sb.queue = msgs(*b_msgs, "to-b");
                if *named {
                    sa.addr = Some(format!("@pair{k}"));
                }
                let how = resocket_core::sim::How::from_bits;
                sa.shutdown = how(*shut);
                if ty != "dgram" {
                    // The kernel mirrors shutdown to the peer.
                    let mirror = ((shut & 1) << 1) | ((shut & 2) >> 1);
                    sb.shutdown = how(mirror);
                }
                socks.extend([sa, sb]);
            }
            Piece::Listener { ty, backlog, accepted, pending, path } => {
                let ty = TYPES[*ty];
                let l = format!("l{k}");
                let mut sl = s(l.clone(), ty);
                sl.addr = Some(if *path { format!("/tmp/prop/l{k}.sock") } else { format!("@l{k}") });
                sl.listen = Some(*backlog);
                let mut extra = Vec::new();
                for i in 0..*accepted {
                    let (c, a) = (format!("l{k}c{i}"), format!("l{k}a{i}"));
                    let mut sc = s(c.clone(), ty);
                    let mut sa = s(a.clone(), ty);
                    sc.peer = Some(a.clone());
                    sa.peer = Some(c);
                    sa.accepted_from = Some(l.clone());
                    sa.queue = msgs(i, "req");
                    extra.extend([sc, sa]);
                }
                for (i, (has_client, sent)) in pending.iter().enumerate() {
                    let client = has_client.then(|| format!("l{k}p{i}"));
                    if let Some(c) = &client {
                        extra.push(s(c.clone(), ty));
                    }
                    sl.pending.push(PendingSpec { client, sent: msgs(*sent, "early") });
                }
                socks.push(sl);
                socks.extend(extra);
            }
            Piece::FanIn { senders, msgs: n, self_connect } => {
                let r = format!("r{k}");
                let mut sr = s(r.clone(), "dgram");
                sr.addr = Some(format!("@r{k}"));
                if *self_connect {
                    sr.peer = Some(r.clone());
                }
                let names: Vec<String> = (0..*senders).map(|j| format!("r{k}s{j}")).collect();
                for j in 0..*n {
                    let from = if *self_connect && j % 2 == 0 { r.clone() } else { names[j % names.len()].clone() };
                    sr.queue.push(MsgSpec { from: Some(from), data: Some(format!("d{j}")), ..MsgSpec::default() });
                }
                socks.push(sr);
                socks.extend(names.into_iter().map(|n| s(n, "dgram")));
            }
            Piece::PeerGone { msgs: n } => {
                let mut x = s(format!("g{k}"), "stream");
                x.peer_gone = true;
                x.queue = msgs(*n, "left");
                socks.push(x);
            }
            Piece::Lonely { ty, named } => {
                let mut x = s(format!("u{k}"), TYPES[*ty]);
                if *named {
                    x.addr = Some(format!("@u{k}"));
                }
                socks.push(x);
            }
        }
    }
    Scenario { description: String::new(), kernel: "6.18.44".into(), time: 0, tasks: Vec::new(), sockets: socks }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_valid_graphs_plan_simulate_and_compare_equal(pieces in prop::collection::vec(piece(), 1..6)) {
        let img = scenario(&pieces).to_image().unwrap();
        let r = load(&img);
        // Self-connected receivers with many datagrams from others exceed the queue limit; the
        // validator warns (a warning keeps the image valid).
        prop_assert!(r.is_valid(), "{:#?}", r.diagnostics);
        let p = plan::plan(&r.image).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let rep = run_plan(&r.image, &p);
        prop_assert!(rep.failure.is_none(), "{:?}", rep.failure);
        prop_assert!(rep.differences.is_empty(), "{:#?}", rep.differences);
    }

    #[test]
    fn the_checker_flags_exactly_the_first_step_the_simulator_cannot_complete(
        pieces in prop::collection::vec(piece(), 1..4),
        seed in any::<u64>(),
    ) {
        let img = scenario(&pieces).to_image().unwrap();
        let r = load(&img);
        let p = plan::plan(&r.image).unwrap();
        // A deterministic shuffle from the seed (xorshift).
        let mut order: Vec<usize> = (0..p.steps.len()).collect();
        let mut x = seed | 1;
        for i in (1..order.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let rep = run_order(&r.image, &p, &order);
        let mut k = Kernel::new();
        let first_bad = order.iter().position(|&i| !k.apply(&p.steps[i].op).is_ok());
        prop_assert_eq!(rep.failure.as_ref().map(|f| f.position), first_bad);
        if let Some(f) = &rep.failure {
            prop_assert!(!f.explanation.is_empty() && !f.fix.is_empty());
            let last_ok = matches!(rep.results.last().map(|r| &r.outcome), Some(Outcome::Ok { .. }));
            prop_assert!(!last_ok, "the flagged step must be the last one run");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// `restore run` executes the steps `plan_streaming` hands over while it plans: they must be
    /// exactly `plan`'s steps, in order, whatever the batch size, and a consumer that gives up
    /// still gets the whole plan back (for its error message) without being fed again.
    #[test]
    fn streamed_steps_are_the_plan_in_order_for_any_batch_size(
        pieces in prop::collection::vec(piece(), 1..6),
        batch in 1usize..40,
        give_up_after in 0usize..4,
    ) {
        let img = scenario(&pieces).to_image().unwrap();
        let r = load(&img);
        let whole = plan::plan(&r.image).unwrap();
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        let streamed = plan::plan_streaming(&r.image, batch, &mut |b| {
            got.extend_from_slice(b);
            sizes.push(b.len());
            true
        })
        .unwrap();
        prop_assert_eq!(&streamed, &whole);
        prop_assert_eq!(&got, &whole.steps);
        // Full batches, then the rest.
        let want: Vec<usize> = whole.steps.chunks(batch).map(<[_]>::len).collect();
        prop_assert_eq!(sizes, want);

        let mut fed = 0usize;
        let stopped = plan::plan_streaming(&r.image, batch, &mut |_| {
            fed += 1;
            fed <= give_up_after
        })
        .unwrap();
        prop_assert_eq!(&stopped, &whole);
        prop_assert_eq!(fed, (give_up_after + 1).min(whole.steps.len().div_ceil(batch)));
    }
}
