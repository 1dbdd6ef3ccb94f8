//! Instantiation from an `InstancePre`, with wasmtime's default (on-demand) allocator and
//! with the pooling allocator; and the size of the embedded component.
//!
//! What is timed is the host's own `Runtime::instantiate` (a `WasiCtx`, a `Store`, the
//! pre-linked instantiation, the bindings' exports), with `Runtime::builder().pooling(16)`
//! and with `Runtime::new()`; dropping the instance is timed apart (the pooling allocator
//! resets its slot then). As a floor, this bench also builds a bare engine, the stock WASI
//! 0.2 linker with the host's own TCP and TLS (as `Runtime` links them) and an `InstancePre`
//! of `hijack_host::COMPONENT` per allocator, and times only a `WasiCtx`, a `Store` and
//! `instantiate_async`.
//!
//! `HIJACK_BENCH_INSTANTIATE_N` instantiations each (default 2000; quick 200), interleaved,
//! after 50 of warm-up.

mod common;

use common::{Better, Goal, Row};
use hijack_host::{COMPONENT, NetPolicy, Runtime, State};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::WasiCtx;

fn pre(config: &Config) -> (Engine, InstancePre<State>) {
    let engine = Engine::new(config).expect("engine");
    let component = Component::new(&engine, COMPONENT).expect("compile the component");
    let mut linker = Linker::<State>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("link WASI");
    // The component's TCP and TLS are the host's own, as `Runtime` links them.
    hijack_host::add_tcp_to_linker(&mut linker).expect("the host's TCP");
    hijack_host::add_tls_to_linker(&mut linker).expect("the host's TLS");
    let pre = linker.instantiate_pre(&component).expect("instantiate_pre");
    (engine, pre)
}

fn pooling() -> Config {
    let mut pool = PoolingAllocationConfig::default();
    // A few slots are enough: one instance lives at a time.
    pool.total_component_instances(16)
        .total_core_instances(64)
        .total_memories(16)
        .total_tables(64)
        .total_stacks(16);
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// One instantiation, in µs.
#[derive(Clone, Copy, Default)]
struct Sample {
    /// Everything up to a usable instance.
    total: f64,
    /// Of which the `WasiCtx` and the `Store` (zero where not measured apart).
    setup: f64,
    /// Dropping the store, after `total`.
    dropped: f64,
}

/// One instantiation as `Runtime::instantiate` does it.
async fn once(engine: &Engine, pre: &InstancePre<State>) -> Sample {
    let started = Instant::now();
    let mut builder = WasiCtx::builder();
    builder
        .allow_tcp(true)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    let policy = Arc::new(NetPolicy::new());
    builder.socket_addr_check(move |_addr, _usage| {
        let _ = &policy;
        Box::pin(async { false })
    });
    let state = State::for_command(builder.build(), NetPolicy::new());
    let mut store = Store::new(engine, state);
    let setup = started.elapsed();
    // A `component::Instance` is an index into the store: the store holds the instance.
    let _instance = common::bounded("instantiate", pre.instantiate_async(&mut store))
        .await
        .expect("instantiate");
    let took = started.elapsed();
    let dropping = Instant::now();
    drop(store);
    Sample {
        total: us(took),
        setup: us(setup),
        dropped: us(dropping.elapsed()),
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// One `Runtime::instantiate`, and the drop of what it gave.
async fn host(runtime: &Runtime) -> Sample {
    let started = Instant::now();
    let instance = common::bounded(
        "Runtime::instantiate",
        runtime.instantiate(NetPolicy::new()),
    )
    .await
    .expect("instantiate");
    let took = started.elapsed();
    let dropping = Instant::now();
    drop(instance);
    Sample {
        total: us(took),
        setup: 0.0,
        dropped: us(dropping.elapsed()),
    }
}

fn main() {
    common::watchdog("instantiate", Duration::from_secs(300));
    let n = common::size("HIJACK_BENCH_INSTANTIATE_N", 2000, 200);
    let warmup = 50;
    let (default_engine, default_pre) = pre(&Config::new());
    let (pool_engine, pool_pre) = pre(&pooling());
    let pooled = Runtime::builder()
        .pooling(16)
        .build()
        .expect("compile the component");
    let runtime = Runtime::new().expect("compile the component");
    let rt = common::current_thread();
    // 0: host, pooling; 1: host, default; 2: bare, pooling; 3: bare, default.
    let mut samples: [Vec<Sample>; 4] = Default::default();
    rt.block_on(async {
        for i in 0..warmup + n {
            let mut got = [Sample::default(); 4];
            for k in 0..4 {
                let which = (i + k) % 4;
                got[which] = match which {
                    0 => host(&pooled).await,
                    1 => host(&runtime).await,
                    2 => once(&pool_engine, &pool_pre).await,
                    _ => once(&default_engine, &default_pre).await,
                };
            }
            if i >= warmup {
                for (s, g) in samples.iter_mut().zip(got) {
                    s.push(g);
                }
            }
        }
    });
    let med =
        |s: &[Sample], f: fn(&Sample) -> f64| common::median(&s.iter().map(f).collect::<Vec<_>>());
    let inst = |s: &[Sample]| med(s, |x| x.total);
    let setup = |s: &[Sample]| med(s, |x| x.setup);
    let dropped = |s: &[Sample]| med(s, |x| x.dropped);
    let p99 = |s: &[Sample]| common::quantile(&s.iter().map(|x| x.total).collect::<Vec<_>>(), 0.99);
    println!("instantiation from InstancePre: {n} each, interleaved");
    let size = COMPONENT.len();
    let rows = [
        Row::new(
            format!(
                "instantiation from InstancePre, median ({} each)",
                common::thousands(n)
            ),
            "µs",
            Better::Lower,
            inst(&samples[0]),
        )
        .ours_is("Runtime::instantiate, pooling allocator")
        .peer("Runtime::instantiate, default (on-demand) allocator", inst(&samples[1]))
        .floor("bare InstancePre, pooling: WasiCtx + Store + instantiate_async", inst(&samples[2]))
        .goal(Goal::OursAtMost(10.0))
        .note(format!(
            "p99: pooling {:.1} µs, default {:.1} µs; instance drop (untimed above), median: pooling {:.1} µs, default {:.1} µs; bare InstancePre with the default allocator: median {:.1} µs, of which WasiCtx + Store::new {:.1} µs",
            p99(&samples[0]),
            p99(&samples[1]),
            dropped(&samples[0]),
            dropped(&samples[1]),
            inst(&samples[3]),
            setup(&samples[3]),
        )),
        Row::new(
            "component size (embedded release component)",
            "bytes",
            Better::Lower,
            size as f64,
        )
        .ours_is("hijack_host::COMPONENT (world hijack-tls)")
        // The embedded component carries the TLS client since wasi:tls joined it: its
        // ceiling is the host's size test's, 160 KiB (the plain `hijack` world keeps 150).
        .goal(Goal::OursAtMost(163_840.0))
        .note(format!("{:.1} KiB; goal 160 KiB", size as f64 / 1024.0)),
    ];
    common::emit("instantiate", &rows);
}
