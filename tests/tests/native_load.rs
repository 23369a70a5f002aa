//! Load on the native driver, as the Python and Node surfaces run it (on
//! `artifact_registry_native::io_runtime`, one I/O thread): 1,000 concurrent
//! `get-repository` calls against the ECR stub server, 300 rounds. Every call
//! completes; once warm, memory does not grow: RSS after round 300 is within 2 MB of
//! RSS after round 100; open file descriptors return to their baseline once the
//! registry (and its connection pool) is dropped. The figures go to
//! `target/load-native.json`.
//!
//! Its own test binary, so that no other test's memory is counted. It measures the
//! release build, which is what the surfaces ship (a debug build's rounds take five
//! times as long and its allocation pattern is not theirs), so a debug `cargo test`
//! lists it as ignored and `scripts/test` runs it:
//! `cargo test --release -p artifact-registry-tests --test native_load` (after
//! `cargo build --release -p artifact-registry-tests --bin ecr-stub-server`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use artifact_registry_core::ArtifactRegistry as _;
use artifact_registry_tests::stub_server::StubServer;
use serde_json::json;

const CONCURRENT: usize = 1000;
const RSS_BOUND: u64 = 2 * 1024 * 1024;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4096
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

/// Waits (10 s at most) for the runtime to close a dropped pool's sockets on its
/// thread: until `target` is reached or, without one, until the count has held for
/// a second.
fn settle_fds(target: Option<usize>) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut last, mut stable_since) = (open_fds(), Instant::now());
    while Instant::now() < deadline {
        let now = open_fds();
        if target.is_some_and(|t| now <= t) {
            break;
        }
        if now != last {
            (last, stable_since) = (now, Instant::now());
        } else if target.is_none() && stable_since.elapsed() > Duration::from_secs(1) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    open_fds()
}

#[test]
#[cfg_attr(debug_assertions, ignore = "measures the release build: scripts/test runs it with --release")]
fn thousand_concurrent_calls_300_rounds_without_growth() {
    let rounds = env_or("LOAD_ROUNDS", 300) as usize;
    let warm_round = rounds.min(100);
    // Each answer is held this long, so that every round has all its calls in flight.
    let stub = StubServer::start(env_or("LOAD_DELAY_MS", 50));
    let runtime = artifact_registry_native::io_runtime().unwrap();
    let config = stub.ecr_config().to_string();

    // The runtime's own descriptors (its poller, its wakers) come with the first
    // call and stay: the baseline is taken after one.
    let warm = artifact_registry_native::connect(&config).unwrap();
    runtime.block_on(warm.get_repository("acme-app")).unwrap();
    drop(warm);
    let baseline_fds = settle_fds(None);

    let registry = Arc::new(artifact_registry_native::connect(&config).unwrap());
    let mut figures = Vec::new();
    for round in 1..=rounds {
        let started = Instant::now();
        let names: Vec<String> = runtime.block_on(async {
            let calls: Vec<_> = (0..CONCURRENT)
                .map(|i| {
                    let registry = registry.clone();
                    tokio::spawn(async move { registry.get_repository(&format!("acme-app-{i}")).await })
                })
                .collect();
            let mut names = Vec::with_capacity(CONCURRENT);
            for call in calls {
                names.push(call.await.expect("the call's task").expect("the call").name);
            }
            names
        });
        assert!(names.iter().enumerate().all(|(i, n)| *n == format!("acme-app-{i}")), "round {round}");
        figures.push(json!({ "round": round, "seconds": started.elapsed().as_secs_f64(),
                             "rssBytes": rss_bytes(), "openFds": open_fds() }));
    }
    drop(registry);
    let fds_after_drop = settle_fds(Some(baseline_fds));

    let rss = |round: usize| figures[round - 1]["rssBytes"].as_u64().unwrap();
    let growth = rss(rounds) as i64 - rss(warm_round) as i64;
    let kept: Vec<_> = figures
        .iter()
        .filter(|f| {
            let r = f["round"].as_u64().unwrap() as usize;
            r == 1 || r == 10 || r == warm_round || r.is_multiple_of(50)
        })
        .collect();
    let report = json!({ "baselineFds": baseline_fds, "fdsAfterDrop": fds_after_drop, "warmRound": warm_round,
                         "rssGrowthAfterWarmRoundBytes": growth, "rounds": kept });
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(Into::into)
        .unwrap_or_else(|_| artifact_registry_tests::repo_root().join("target"));
    std::fs::write(target.join("load-native.json"), serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!("{report}");
    assert!(fds_after_drop <= baseline_fds, "{report}");
    assert!(growth < RSS_BOUND as i64, "{report}");
}
