//! The engine and the compiled component: compiled once, instantiated per use with the
//! network its [`NetPolicy`] grants and nothing else.
//!
//! This module builds and links; it makes no call into an instance. What one instance holds
//! (its store's [`State`], the export indices it loads functions from) is `instance`'s, so
//! the dependency runs one way: runtime to instance.

use crate::cache;
use crate::error::Error;
use crate::instance::{Exports, Instance};
use crate::policy::NetPolicy;
use crate::sockets;
use crate::tls;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::WasiCtx;

/// The store's data: defined with the instance that owns it, named here as well because the
/// crate's public path for it (`hijack_host::State`, next to [`Runtime`]) is re-exported from
/// this module.
pub use crate::instance::State;

/// The component, as built by `build.rs` from the workspace's root package.
pub const COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hijack.wasm"));

pub use cache::default_dir as default_cache_dir;

/// Test hook: put the host's own `wasi:sockets/tcp` and `tcp-create-socket` in `linker`, in
/// place of wasmtime-wasi's (add those first, e.g. with
/// `wasmtime_wasi::p2::add_to_linker_async`), checked against the store's policy (see
/// [`State::for_command`]). It lets a test run any WASI command over the TCP the component
/// gets; not part of the supported API.
#[doc(hidden)]
pub fn add_tcp_to_linker(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    sockets::add_to_linker(linker, State::tcp)
}

/// Bench hook: put the host's own `wasi:tls` in `linker`, as [`Runtime`] links it; with
/// [`add_tcp_to_linker`] it lets a bench instantiate the embedded component bare (no
/// [`Instance`](crate::Instance) around it). Not part of the supported API.
#[doc(hidden)]
pub fn add_tls_to_linker(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    tls::add_to_linker(linker, State::tls)
}

/// Bytes of a pooled slot's memory and tables kept resident between instances.
const KEEP_RESIDENT: usize = 64 * 1024;

/// How to build a [`Runtime`] (from [`Runtime::builder`]); the defaults are
/// [`Runtime::new`]'s: wasmtime's on-demand allocator, no cache.
#[derive(Clone, Debug, Default)]
pub struct RuntimeBuilder {
    pooling: Option<u32>,
    cache_dir: Option<PathBuf>,
}

impl RuntimeBuilder {
    /// Take instances from wasmtime's pooling allocator, with room for `instances` alive at
    /// once: memory, tables and stacks are reserved up front and reused, so a host that
    /// instantiates per request (as `wasmtime serve` does) gets a fresh instance in a few
    /// microseconds (`bash scripts/bench`, the instantiation row). Each slot reserves address
    /// space for a full linear memory (wasmtime's default, 4 GiB of virtual memory, not RSS).
    /// Instantiating past `instances` alive fails with [`Error::Runtime`] until one is dropped.
    pub fn pooling(mut self, instances: u32) -> Self {
        self.pooling = Some(instances.max(1));
        self
    }

    /// Reuse machine code from `dir`, as [`Runtime::cached`] does.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Compile (or load from the cache) the embedded component.
    pub fn build(self) -> Result<Runtime, Error> {
        self.build_from(COMPONENT)
    }

    /// Compile (or load from the cache) a component given as bytes.
    pub fn build_from(self, bytes: &[u8]) -> Result<Runtime, Error> {
        let mut config = Config::new();
        if let Some(instances) = self.pooling {
            // The component instantiates three core modules (its own, and wit-component's
            // shim and fixup), with one memory and two tables between them.
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(instances)
                .total_core_instances(instances.saturating_mul(3))
                .total_memories(instances)
                .total_tables(instances.saturating_mul(2))
                .total_stacks(instances)
                // A freed slot's first pages stay mapped and are zeroed in place rather than
                // handed back to the kernel, so the next instance does not fault them in
                // again: the pool exists to make instantiation cheap, and those faults are a
                // large part of what is left.
                .linear_memory_keep_resident(KEEP_RESIDENT)
                .table_keep_resident(KEEP_RESIDENT);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&config)?;
        let component = match &self.cache_dir {
            Some(dir) => cache::load_or_compile(&engine, bytes, dir)?,
            None => Component::new(&engine, bytes)?,
        };
        Runtime::link(engine, &component)
    }
}

/// The engine and the compiled, linked component: made once, instantiated many times.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    pre: InstancePre<State>,
    exports: Arc<Exports>,
}

impl Runtime {
    /// Compile the embedded component.
    pub fn new() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// The choices a host can make before the component is compiled: see [`RuntimeBuilder`].
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// The embedded component, its machine code reused from `cache_dir` when an earlier run
    /// compiled it there (else compiled and stored: a command-line tool starts in
    /// milliseconds instead of recompiling each time). A cache that cannot be read or written
    /// only costs the compile. [`default_cache_dir`] is where the `hijack` CLI keeps it.
    pub fn cached(cache_dir: &Path) -> Result<Self, Error> {
        Self::builder().cache_dir(cache_dir).build()
    }

    /// Compile a component given as bytes (the embedded one, or one composed from it).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::builder().build_from(bytes)
    }

    fn link(engine: Engine, component: &Component) -> Result<Self, Error> {
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        // TCP is the host's own, so that it takes the socket itself at the handoff.
        sockets::add_to_linker(&mut linker, State::tcp)?;
        // wasi:tls is the host's too: it keeps the session, and trust stays out of the guest.
        tls::add_to_linker(&mut linker, State::tls)?;
        let pre = linker.instantiate_pre(component)?;
        let exports = Arc::new(Exports::new(&pre)?);
        Ok(Self {
            engine,
            pre,
            exports,
        })
    }

    /// A fresh instance with the network granted by `policy` and nothing else.
    pub async fn instantiate(&self, policy: NetPolicy) -> Result<Instance, Error> {
        let mut builder = WasiCtx::builder();
        builder
            .allow_tcp(policy.any_tcp())
            .allow_udp(false)
            .allow_ip_name_lookup(policy.name_lookup());
        // TCP checks the policy itself (sockets/); wasmtime-wasi's check stays for what
        // else of its sockets the component might reach.
        let policy = Arc::new(policy);
        let check = Arc::clone(&policy);
        builder.socket_addr_check(move |addr, usage| {
            let ok = check.allows(addr, usage);
            Box::pin(async move { ok })
        });
        let mut store = Store::new(&self.engine, State::new(builder.build(), policy));
        let instance = self.pre.instantiate_async(&mut store).await?;
        Ok(Instance::new(store, instance, Arc::clone(&self.exports)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_component_is_within_its_size_budget() {
        // A ceiling that catches a size regression: the component stays small by linking no
        // std (crates/hijack-runtime) and formatting none of its texts. The embedded one is the
        // `hijack-tls` world: 156 KiB since request bodies (`read-body`, a chunked decoder)
        // joined it; `hijack` alone is 137 KiB, under the 150 KiB goal. Growth is a decision
        // made here, not a drift. wasm-opt is optional (scripts/setup installs it), and
        // without it the component is larger: it gets a ceiling of its own.
        let (ceiling, how) = match env!("HIJACK_COMPONENT_WASM_OPT") {
            "yes" => (160 * 1024, "with wasm-opt"),
            _ => (200 * 1024, "without wasm-opt"),
        };
        assert!(super::COMPONENT.starts_with(b"\0asm"));
        assert!(
            super::COMPONENT.len() <= ceiling,
            "component is {} bytes, over {ceiling} ({how})",
            super::COMPONENT.len()
        );
    }
}
