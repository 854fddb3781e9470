//! Property tests: random edit sequences keep the scenario writable, readable and restorable.

use super::*;
use proptest::prelude::*;

const ADDRS: [&str; 9] =
    ["/tmp/p1", "rel/p2", "@x", "@y", "127.0.0.1:80", "127.0.0.1:0", "0.0.0.0:80", "[::1]:80", "[::]:53"];

/// An edit whose sockets are picked when it is applied, among the sockets that make it
/// likely to be accepted (`usize`s choose by remainder), so that long sequences build
/// listeners, pending connections, accepted sockets, pairs and queues.
#[derive(Debug, Clone)]
enum Step {
    Add(Family, SockType),
    Remove(usize),
    Bind(usize, &'static str),
    Listen(usize, i16),
    Pair(usize, usize),
    Connect(usize, usize),
    Accept(usize),
    Send(usize, Option<usize>, String),
    Shutdown(usize, How),
    Drop(usize, usize),
}

/// INET addresses of the loopback host, wildcards and "pick a port" among them.
const INET_ADDRS: [&str; 8] =
    ["127.0.0.1:80", "127.0.0.1:0", "0.0.0.0:81", "127.0.0.2:80", "[::1]:80", "[::]:53", "[::1]:0", "127.0.0.1:53"];

fn step() -> impl Strategy<Value = Step> {
    let family = prop_oneof![3 => Just(Family::Unix), 2 => Just(Family::Inet), 1 => Just(Family::Inet6)];
    let ty = prop_oneof![4 => Just(SockType::Stream), 1 => Just(SockType::Dgram), 1 => Just(SockType::Seqpacket)];
    steps(family, ty, &ADDRS)
}

fn inet_step() -> impl Strategy<Value = Step> {
    let family = prop_oneof![2 => Just(Family::Inet), 1 => Just(Family::Inet6)];
    let ty = prop_oneof![3 => Just(SockType::Stream), 2 => Just(SockType::Dgram)];
    steps(family, ty, &INET_ADDRS)
}

fn steps(
    family: impl Strategy<Value = Family> + 'static,
    ty: impl Strategy<Value = SockType> + 'static,
    addrs: &'static [&'static str],
) -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (family, ty).prop_map(|(f, t)| Step::Add(f, t)),
        1 => any::<usize>().prop_map(Step::Remove),
        3 => (any::<usize>(), proptest::sample::select(addrs)).prop_map(|(i, a)| Step::Bind(i, a)),
        3 => (any::<usize>(), -1i16..4).prop_map(|(i, b)| Step::Listen(i, b)),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Step::Pair(i, j)),
        5 => (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Step::Connect(i, j)),
        3 => any::<usize>().prop_map(Step::Accept),
        6 => (any::<usize>(), proptest::option::weighted(0.3, any::<usize>()), "[a-z\\\\]{0,6}")
            .prop_map(|(i, j, d)| Step::Send(i, j, d)),
        1 => (any::<usize>(), proptest::sample::select(&How::ALL[..])).prop_map(|(i, h)| Step::Shutdown(i, h)),
        1 => (any::<usize>(), 0usize..3).prop_map(|(i, k)| Step::Drop(i, k)),
    ]
}

fn pick<'a>(v: &[&'a SockSpec], i: usize) -> Option<&'a SockSpec> {
    (!v.is_empty()).then(|| v[i % v.len()])
}

/// The edit a step stands for in `sc` (`None` when no socket fits).
fn resolve(sc: &Scenario, st: &Step) -> Option<Edit> {
    let all: Vec<&SockSpec> = sc.sockets.iter().collect();
    let named = |s: &&SockSpec| s.addr.is_some();
    let n = |s: &SockSpec| s.name.clone();
    Some(match st {
        Step::Add(f, ty) => Edit::AddSocket { name: fresh_name(sc, "s"), family: *f, ty: *ty },
        Step::Remove(i) => Edit::RemoveSocket { name: n(pick(&all, *i)?) },
        Step::Bind(i, a) => Edit::Bind { name: n(pick(&all, *i)?), addr: a.to_string() },
        Step::Listen(i, b) => {
            let bound: Vec<&SockSpec> = all.iter().copied().filter(named).collect();
            Edit::Listen { name: n(pick(&bound, *i)?), backlog: *b }
        }
        Step::Pair(i, j) => Edit::Pair { a: n(pick(&all, *i)?), b: n(pick(&all, *j)?) },
        Step::Connect(i, j) => {
            // Mostly a target that takes connections: a listener, or any named dgram socket.
            let takes = |s: &&SockSpec| s.listen.is_some() || s.ty == SockType::Dgram || j % 4 == 0;
            let targets: Vec<&SockSpec> = all.iter().copied().filter(named).filter(takes).collect();
            Edit::Connect { client: n(pick(&all, *i)?), server: n(pick(&targets, *j / 4)?) }
        }
        Step::Accept(i) => {
            let ls: Vec<&SockSpec> = all.iter().copied().filter(|s| !s.pending.is_empty()).collect();
            Edit::Accept { listener: n(pick(&ls, *i)?), name: fresh_name(sc, "acc") }
        }
        Step::Send(i, j, data) => {
            Edit::Send { from: n(pick(&all, *i)?), to: j.and_then(|j| pick(&all, j)).map(n), data: data.clone() }
        }
        Step::Shutdown(i, how) => Edit::Shutdown { name: n(pick(&all, *i)?), how: *how },
        Step::Drop(i, k) => Edit::DropMessage { name: n(pick(&all, *i)?), index: *k },
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whatever sequence of edits is accepted, the scenario writes an image, reads back from
    /// that image exactly, and survives a share link.
    #[test]
    fn accepted_edits_keep_the_scenario_writable_and_readable(steps in proptest::collection::vec(step(), 0..60)) {
        let mut sc = Scenario::default();
        for st in &steps {
            let Some(e) = resolve(&sc, st) else { continue };
            let Ok(next) = apply(&sc, &e) else { continue };
            sc = next;
            let img = sc.to_image();
            prop_assert!(img.is_ok(), "{e:?} left an unwritable scenario: {img:?}");
            let img = img.unwrap();
            let back = from_image(&img);
            prop_assert!(back.scenario.to_image().as_deref() == Ok(&img[..]), "{e:?}: {:?}", back.notes);
            prop_assert!(back.notes.iter().all(|n| n.contains("error(s)")), "{e:?}: {:?}", back.notes);
        }
        prop_assert_eq!(crate::share::decode(&crate::share::encode(&sc)), Ok(sc));
    }

    /// Whatever sequence of INET edits is accepted, a scenario whose image is valid is
    /// restored by its plan on the simulator (loopback host) to the end, reproducing the image.
    #[test]
    fn accepted_inet_edits_restore_on_the_simulator(
        steps in proptest::collection::vec(inet_step(), 0..60)
    ) {
        let (inet, inet6, stream, dgram) = (Family::Inet, Family::Inet6, SockType::Stream, SockType::Dgram);
        let start = [(inet, stream), (inet, stream), (inet, dgram), (inet, dgram), (inet6, stream)];
        let mut sc = Scenario::default();
        for (family, ty) in start {
            sc = apply(&sc, &Edit::AddSocket { name: fresh_name(&sc, "s"), family, ty }).unwrap();
        }
        for st in &steps {
            let Some(e) = resolve(&sc, st) else { continue };
            let Ok(next) = apply(&sc, &e) else { continue };
            sc = next;
            let img = sc.to_image();
            prop_assert!(img.is_ok(), "{e:?} left an unwritable scenario: {img:?}");
            let img = img.unwrap();
            let report = crate::load(&img);
            if !report.is_valid() {
                continue; // (the validator's report is the editor's answer, e.g. a backlog exceeded)
            }
            let plan = crate::plan::plan(&report.image);
            prop_assert!(plan.is_ok(), "{e:?}: {plan:?}\n{sc:?}");
            let run = crate::check::run_plan(&report.image, &plan.unwrap());
            prop_assert!(run.is_clean(), "{e:?}: {:?} {:?}\n{sc:?}", run.failure, run.differences);
        }
    }
}
