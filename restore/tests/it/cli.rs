//! The command-line contract: output shape and exit codes (0 valid, 1 invalid, 2 usage/I-O).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(kind: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/images").join(kind).join(format!("{name}.rsimg"))
}

fn restore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_restore")).args(args).output().unwrap()
}

fn checkpoint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_checkpoint")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("resocket-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn check_exit_codes() {
    let valid = fixture("valid", "listener-pending");
    let o = restore(&["check", valid.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("valid (0 errors, 0 warnings)"));

    let bad = fixture("invalid", "bad-magic");
    let o = restore(&["check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("error[bad-magic]: HEADER.magic is 0x00feed0cc0a2d201"), "{out}");
    assert!(out.contains("--> ") && out.contains("@ 0x8..0x10 (record 0: HEADER at 0x0)"), "{out}");
    assert!(out.contains("^^ ^^ ^^ ^^ ^^ ^^ ^^ ^^"), "hex excerpt with carets: {out}");
    assert!(out.contains("= help: HEADER.magic must be"), "{out}");

    let o = restore(&["check", "/nonexistent/image"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/image"));

    let o = restore(&["check"]);
    assert_eq!(o.status.code(), Some(2), "missing argument is a usage error");
}

#[test]
fn warnings_alone_keep_an_image_valid() {
    let o = restore(&["check", fixture("invalid", "unknown-record").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("warning[unknown-record]"));
}

#[test]
fn check_json_lists_diagnostics() {
    let o = restore(&["check", "--json", fixture("invalid", "queue-count-mismatch").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "queue-count-mismatch");
    assert_eq!(d["severity"], "error");
    assert!(d["offset"].as_u64().is_some() && d["help"].as_str().is_some());
}

#[test]
fn show_lists_records_sockets_and_summary() {
    let o = restore(&["show", fixture("valid", "listener-pending").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let first = out.lines().next().unwrap();
    assert!(first.contains("7 sockets (7 unix stream)") && first.contains("2 pending connections"), "{first}");
    assert!(out.contains("@0x000000 #0     HEADER         len 72"), "{out}");
    assert!(out.contains("RS_PENDING") && out.contains("listener=3"), "{out}");
    assert!(out.contains("listening       /tmp/resocket/srv.sock"), "{out}");

    let o = restore(&["show", "--json", fixture("valid", "stream-pair").to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["records"][0]["type"], "HEADER");
    assert_eq!(v["records"][0]["offset"], 0);
    assert_eq!(v["sockets"].as_array().unwrap().len(), 2);
}

#[test]
fn show_survives_broken_framing() {
    let o = restore(&["show", fixture("invalid", "truncated").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("framing error: truncated record header"));
}

#[test]
fn decode_then_encode_is_byte_identical() {
    let dir = scratch("roundtrip");
    for name in ["scm-rights", "many-1000", "relative-path"] {
        let img = fixture("valid", name);
        let json = dir.join(format!("{name}.json"));
        let back = dir.join(format!("{name}.rsimg"));
        let o = restore(&["decode", img.to_str().unwrap(), "-o", json.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0));
        let o = checkpoint(&["encode", json.to_str().unwrap(), "-o", back.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&img).unwrap(), "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn encode_accepts_a_scenario_and_rejects_nonsense() {
    let dir = scratch("encode");
    let src = dir.join("s.json");
    std::fs::write(&src, r#"{"sockets":[{"name":"a","type":"dgram","peer":"a"}]}"#).unwrap();
    let out = dir.join("s.rsimg");
    let o = checkpoint(&["encode", src.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(restore(&["check", out.to_str().unwrap()]).status.code(), Some(0));

    std::fs::write(&src, r#"{"sockets":[{"name":"a","type":"raw"}]}"#).unwrap();
    let o = checkpoint(&["encode", src.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("unknown variant `raw`, expected one of `stream`, `dgram`, `seqpacket`"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_is_available_for_every_command() {
    for args in [&["--help"][..], &["show", "--help"], &["check", "--help"], &["decode", "--help"]] {
        let o = restore(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(stdout(&o).contains("Usage: restore"), "{args:?}");
    }
    let o = checkpoint(&["encode", "--help"]);
    assert!(stdout(&o).contains("Usage: checkpoint encode"));
}

#[test]
fn plan_lists_steps_by_phase_and_as_json() {
    let img = fixture("valid", "listener-pending");
    let o = restore(&["plan", img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let listen = out.find("listen(").unwrap();
    let connect = out.find("connect(").unwrap();
    let accept = out.find("accept(").unwrap();
    assert!(listen < connect && connect < accept, "listener, then connect, then accept: {out}");
    let o = restore(&["plan", "--json", img.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["steps"].as_array().unwrap().iter().any(|s| s["op"] == "accept"));
    // Invalid images are refused with exit 1.
    let o = restore(&["plan", fixture("invalid", "bad-magic").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn simulate_explains_a_bad_order_and_exits_1() {
    let img = fixture("valid", "listener-pending");
    let o = restore(&["simulate", img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("the simulated state equals the image"));
    let o = restore(&["simulate", "--order", "naive", img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("-1 ENOENT") && out.contains("fix: create, bind and listen the listener"), "{out}");
    assert!(out.contains("kernel rule [no-such-path] (--explain says more)"), "{out}");
    let o = restore(&["simulate", "--order", "v2", img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("pending: expected"), "v2 loses pending connections");
}

#[test]
fn simulate_explain_names_the_kernel_rule_behind_a_failure() {
    let img = fixture("valid", "listener-pending");
    let o = restore(&["simulate", "--order", "naive", "--explain", img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let e = resocket_core::sim::Rule::NoSuchPath.explain();
    for want in ["kernel rule [no-such-path]: unix_find_bsd (net/unix/af_unix.c)", e.condition, e.text] {
        assert!(out.contains(want), "{want}: {out}");
    }
    let o = restore(&["simulate", "--order", "naive", "--explain", "--json", img.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["report"]["failure"]["rule"], "no-such-path");
    assert_eq!(v["explanation"]["function"], e.function);
    // A clean run has nothing to explain.
    let o = restore(&["simulate", "--explain", img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!stdout(&o).contains("kernel rule"));
}

#[test]
fn diff_ignores_renumbering_and_reports_real_differences() {
    let dir = scratch("diff");
    let write = |name: &str, json: &str| {
        let src = dir.join(format!("{name}.json"));
        std::fs::write(&src, json).unwrap();
        let img = dir.join(format!("{name}.rsimg"));
        let o = checkpoint(&["encode", src.to_str().unwrap(), "-o", img.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        img
    };
    let tasks = r#""tasks":[{"pid":7,"fds":{"3":"a","4":"b","5":"l"}}]"#;
    let a = write(
        "a",
        &format!(
            r#"{{{tasks},"sockets":[{{"name":"a","type":"stream","pair":"b","queue":[{{"data":"x"}}]}},{{"name":"b","type":"stream","pair":"a"}},{{"name":"l","type":"stream","addr":"@l","listen":1}}]}}"#
        ),
    );
    // The same sockets listed in another order: other objrefs, other record order.
    let b = write(
        "b",
        &format!(
            r#"{{{tasks},"sockets":[{{"name":"l","type":"stream","addr":"@l","listen":1}},{{"name":"b","type":"stream","pair":"a"}},{{"name":"a","type":"stream","pair":"b","queue":[{{"data":"x"}}]}}]}}"#
        ),
    );
    let c = write(
        "c",
        &format!(
            r#"{{{tasks},"sockets":[{{"name":"a","type":"stream","pair":"b","queue":[{{"data":"y"}}]}},{{"name":"b","type":"stream","pair":"a"}},{{"name":"l","type":"stream","addr":"@l","listen":2}}]}}"#
        ),
    );
    let o = restore(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = restore(&["diff", a.to_str().unwrap(), c.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("task0:fd3: queue") && out.contains("task0:fd5: backlog"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn simulate_states_show_the_backlog_filling_up() {
    let img = fixture("valid", "backlog0-pending");
    let o = restore(&["simulate", "--states", img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("pending 0/1") && out.contains("pending 1/1"), "{out}");
    assert!(out.contains("(embryo on #3)"), "{out}");
}

/// A unix image whose plan carries one warning (dgram-qlen-raised: a receiver holding more
/// datagrams than its recorded queue limit admits), bound at a path under a restore root.
fn qlen_image(dir: &Path) -> PathBuf {
    let q: Vec<String> = (0..13).map(|i| format!(r#"{{"from": "s", "data": "m{i}"}}"#)).collect();
    let src = dir.join("qlen.json");
    std::fs::write(
        &src,
        format!(
            r#"{{"sockets": [{{"name": "r", "type": "dgram", "addr": "/warn/r.sock", "queue": [{}]}},
                             {{"name": "s", "type": "dgram"}}]}}"#,
            q.join(",")
        ),
    )
    .unwrap();
    let img = dir.join("qlen.rsimg");
    let o = checkpoint(&["encode", src.to_str().unwrap(), "-o", img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    img
}

#[test]
fn plan_json_and_dry_run_json_list_the_warnings_with_code_objref_and_step() {
    let img = fixture("valid", "inet-external");
    for args in [vec!["plan", "--json"], vec!["run", "--dry-run", "--json"]] {
        let mut args = args.clone();
        args.push(img.to_str().unwrap());
        let o = restore(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let ws = v["warnings"].as_array().unwrap();
        let tcp = ws.iter().find(|w| w["code"] == "tcp-external-peer").unwrap_or_else(|| panic!("{ws:?}"));
        assert_eq!(tcp["objref"], 3, "{tcp}");
        assert!(tcp["step"].is_u64() && tcp["message"].as_str().unwrap().contains("203.0.113.7:443"), "{tcp}");
        assert_eq!(tcp["effect"], "lost");
        assert!(ws.iter().any(|w| w["code"] == "udp-external-peer" && w["objref"] == 5), "{ws:?}");
    }
    // The text form: warning[CODE]: message, the place, what is lost.
    let o = restore(&["plan", img.to_str().unwrap()]);
    let out = stdout(&o);
    assert!(out.contains("warning[tcp-external-peer]: socket #3 was a TCP connection to 203.0.113.7:443"), "{out}");
    assert!(out.contains("  --> socket #3, step ") && out.contains("  = lost: the TCP connection"), "{out}");
    // --json belongs to --dry-run.
    let o = restore(&["run", "--json", img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn deny_warnings_refuses_a_plan_before_anything_is_done() {
    let dir = scratch("deny");
    let img = qlen_image(&dir);
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--root", root.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push(img.to_str().unwrap());
        restore(&args)
    };
    for extra in [&["--deny-warnings"][..], &["-D", "dgram-qlen-raised"], &["--deny", "dgram-qlen-raised"]] {
        let o = run(extra);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {err}");
        assert!(err.contains("nothing was done") && err.contains("warning[dgram-qlen-raised]: #"), "{err}");
        assert!(err.contains("--> socket #"), "{err}");
        // Nothing made under the root.
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0, "{extra:?}");
    }
    // The same refusal in a dry run, after the plan is printed.
    let o = restore(&["run", "--dry-run", "--deny-warnings", img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("warning[dgram-qlen-raised]"));
    // Allowed by -A, or denied codes the plan does not carry: the dry run passes.
    for extra in [&["--deny-warnings", "-A", "dgram-qlen-raised"][..], &["-D", "tcp-external-peer"]] {
        let mut args = vec!["run", "--dry-run"];
        args.extend_from_slice(extra);
        args.push(img.to_str().unwrap());
        let o = restore(&args);
        assert_eq!(o.status.code(), Some(0), "{extra:?}: {}", String::from_utf8_lossy(&o.stderr));
    }
    // -D wins over -A.
    let o = restore(&["run", "--dry-run", "-D", "dgram-qlen-raised", "-A", "dgram-qlen-raised", img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    // An unknown code is a usage error that lists the codes.
    let o = restore(&["run", "--dry-run", "-D", "no-such-code", img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("tcp-external-peer"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_with_a_command_says_what_exec_changes_and_deny_refuses_it() {
    let dir = scratch("exec-warnings");
    let src = dir.join("two.json");
    std::fs::write(
        &src,
        r#"{"tasks": [{"pid": 10, "fds": {"3": "a"}, "cloexec": [3]}, {"pid": 11, "fds": {"4": "b"}}],
            "sockets": [{"name": "a", "type": "stream", "pair": "b"}, {"name": "b", "type": "stream", "pair": "a"}]}"#,
    )
    .unwrap();
    let img = dir.join("two.rsimg");
    let o = checkpoint(&["encode", src.to_str().unwrap(), "-o", img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let i = img.to_str().unwrap();
    let o = restore(&["run", "--dry-run", "--deny-warnings", i, "--", "/bin/true"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("warning[other-processes-closed]: pid 11") && err.contains("warning[cloexec-dropped]: fds [3]"),
        "{err}"
    );
    assert!(err.contains("nothing was done"), "{err}");
    let o = restore(&[
        "run",
        "--dry-run",
        "--deny-warnings",
        "-A",
        "other-processes-closed",
        "-A",
        "cloexec-dropped",
        i,
        "--",
        "/bin/true",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    // Without a command nothing is exec'd: nothing to say.
    let o = restore(&["run", "--dry-run", "--deny-warnings", i]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lesson_lists_the_lessons() {
    let o = restore(&["lesson"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    for r in resocket_core::lesson::builtin() {
        let l = r.unwrap();
        assert!(out.contains(&format!("  {:<20} {}", l.id, l.title)), "{out}");
    }
    let o = restore(&["lesson", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["lessons"].as_array().unwrap().len() >= 8);
    assert_eq!(v["lessons"][1]["id"], "backlog");
}

#[test]
fn lesson_walks_a_lesson_with_questions_answers_and_rules() {
    let o = restore(&["lesson", "backlog"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    let e = resocket_core::sim::Rule::BacklogFull.explain();
    let step8 = out.split("\n[8]\n").nth(1).and_then(|s| s.split("\n[9]\n").next()).unwrap_or_default();
    assert!(step8.contains("? Two are pending, the backlog is 1."), "{step8}");
    assert!(step8.contains("$ connect(c3, @lesson-backlog)\n  = would block\n  answer: would-block"), "{step8}");
    assert!(step8.contains(&format!("kernel rule [backlog-full]: {}", e.function)), "{step8}");
    assert!(step8.contains(&format!("when: {}", e.condition)) && step8.contains(e.text), "{step8}");
    assert!(out.contains("$ a1 = accept(L)\n  = 0\n  answer: c1"), "{out}");
    // A restore step: the naive order's failure, explained, with the rule.
    let out = stdout(&restore(&["lesson", "restore-order"]));
    assert!(out.contains("$ restore the scenario in the naive order"), "{out}");
    assert!(out.contains("fails with ENOENT") && out.contains("kernel rule [no-such-path]"), "{out}");
}

#[test]
fn lesson_grades_a_learners_answers() {
    let o = restore(&["lesson", "backlog", "--answer", "8=ok", "--answer", "11=c1"]);
    assert_eq!(o.status.code(), Some(1), "a wrong answer: exit 1");
    let out = stdout(&o);
    assert!(out.contains("your answer: ok — wrong") && out.contains("your answer: c1 — right"), "{out}");
    assert!(out.contains("1 of 2 answers right"), "{out}");
    let o = restore(&["lesson", "backlog", "--answer", "8=would-block", "--answer", "10=eagain", "--answer", "11=c1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("3 of 3 answers right"));
    let o = restore(&["lesson", "backlog", "--json", "--answer", "8=ok"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let s8 = &v["steps"][8];
    assert_eq!((s8["rule"]["rule"].as_str(), s8["question"]["correct"].as_bool()), (Some("backlog-full"), Some(false)));
    assert_eq!(s8["question"]["simulator"], "would_block");
    assert_eq!(v["lesson"]["id"], "backlog");
    for bad in ["8=maybe", "3=ok", "x=ok", "8"] {
        let o = restore(&["lesson", "backlog", "--answer", bad]);
        assert_eq!(o.status.code(), Some(2), "--answer {bad}");
    }
}

#[test]
fn lesson_files_load_and_bad_ones_get_a_located_error() {
    let d = scratch("lesson");
    let good = d.join("mine.json");
    std::fs::write(
        &good,
        r#"{ "id": "mine", "title": "Mine", "goal": "g", "prose": "p", "names": { "1": "s" },
  "steps": [ { "syscall": { "op": "socket", "slot": 1, "ty": "dgram" } },
    { "syscall": { "op": "listen", "slot": 1, "backlog": 1 },
      "question": { "prompt": "listen() on a datagram socket?", "answer": { "errno": "EOPNOTSUPP" } } } ] }"#,
    )
    .unwrap();
    let o = restore(&["lesson", good.to_str().unwrap(), "--answer", "1=EOPNOTSUPP"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("kernel rule [listen-on-dgram]"), "{}", stdout(&o));
    let bad = d.join("bad.json");
    std::fs::write(&bad, "{ \"id\": \"bad\", \"title\": \"t\", \"goal\": \"g\", \"prose\": \"p\",\n \"steps\": [\n  { \"prose\": \"x\" },\n  { \"syscall\": { \"op\": \"sockit\" } } ] }").unwrap();
    let o = restore(&["lesson", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.json: line 4, column") && err.contains("(step 1)") && err.contains("sockit"), "{err}");
    let o = restore(&["lesson", "no-such-lesson"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the lessons are: socketpair, backlog"));
    let _ = std::fs::remove_dir_all(&d);
}

/// `restore run DIR/NAME.rsimg -- true` in a fresh network namespace, under `setpriv` with these
/// capabilities dropped from the bounding set (so the restore runs without them): the exit code
/// and what restore said.
fn restore_run_without(dir: &Path, image: &Path, drop_caps: &str) -> (Option<i32>, String) {
    let o = Command::new("unshare")
        .args(["-n", "setpriv", "--inh-caps=-all", &format!("--bounding-set={drop_caps}")])
        .arg(env!("CARGO_BIN_EXE_restore"))
        .arg("run")
        .arg(image)
        .args(["--", "true"])
        .current_dir(dir)
        .output()
        .unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// An image whose sockets record SO_MARK or SO_PRIORITY above 6, restored without CAP_NET_ADMIN
/// and CAP_NET_RAW: refused before any step, naming each socket and option and the capabilities
/// it needs, nothing left behind (its listener's file is not there). With CAP_NET_RAW alone
/// (CAP_NET_ADMIN dropped) it is restored. A restore whose plan raises a send buffer with
/// SO_SNDBUFFORCE (CAP_NET_ADMIN only) fails at that step, says why, and undoes what it made.
#[test]
fn options_that_need_a_privilege_the_restore_lacks_fail_precisely_and_leave_nothing() {
    let dir = scratch("privilege");
    let sock = dir.join("srv.sock");
    let src = dir.join("opts.json");
    let image = dir.join("opts.rsimg");
    for (opt, shown) in
        [(r#"{"name": "mark", "value": 9}"#, "SO_MARK 9"), (r#"{"name": "priority", "value": 7}"#, "SO_PRIORITY 7")]
    {
        std::fs::write(
            &src,
            format!(
                r#"{{"sockets": [{{"name": "L", "type": "stream", "addr": "{}", "listen": 2}},
                    {{"name": "a", "type": "stream", "pair": "b", "opts": [{opt}]}}, {{"name": "b", "type": "stream", "pair": "a"}}]}}"#,
                sock.display()
            ),
        )
        .unwrap();
        let o = checkpoint(&["encode", src.to_str().unwrap(), "-o", image.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let (code, said) = restore_run_without(&dir, &image, "-net_admin,-net_raw");
        assert_eq!(code, Some(1), "{said}");
        assert!(said.contains(&format!("socket #5: {shown}")), "{said}");
        assert!(said.contains("CAP_NET_ADMIN or CAP_NET_RAW") && said.contains("nothing was restored"), "{said}");
        assert!(!sock.exists(), "the listener's file was left behind");
        let (code, said) = restore_run_without(&dir, &image, "-net_admin");
        assert_eq!(code, Some(0), "{shown} with CAP_NET_RAW: {said}");
        std::fs::remove_file(&sock).unwrap();
    }
    std::fs::write(
        &src,
        format!(
            r#"{{"sockets": [{{"name": "L", "type": "stream", "addr": "{}", "listen": 2}},
                {{"name": "a", "type": "stream", "pair": "b", "queue": [{{"repeat": 3000000}}]}}, {{"name": "b", "type": "stream", "pair": "a"}}]}}"#,
            sock.display()
        ),
    )
    .unwrap();
    let o = checkpoint(&["encode", src.to_str().unwrap(), "-o", image.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let (code, said) = restore_run_without(&dir, &image, "-net_admin");
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("SndBufForce") && said.contains("EPERM"), "{said}");
    assert!(
        said.contains("only with CAP_NET_ADMIN") && said.contains("everything restored so far was undone"),
        "{said}"
    );
    assert!(!sock.exists(), "the listener's file was left behind");
    let _ = std::fs::remove_dir_all(&dir);
}
