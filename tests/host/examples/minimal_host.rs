//! The smallest wasmtime host for the artifact-registry component: load it, link
//! WASI and wasi:http, open a binding from a configuration file, and run a
//! repository's lifecycle with it (create, get, credentials, delete).
//!
//! ```sh
//! cargo build -p artifact-registry-component --target wasm32-wasip2 --profile component
//! cargo run -p artifact-registry-component-host --example minimal_host -- \
//!     target/wasm32-wasip2/component/artifact_registry_component.wasm config.json my-app
//! ```

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "artifact-registry",
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "wasi:random": wasmtime_wasi::p2::bindings::random,
    },
});

use artifact_registry::bindings::types::Permissions;

struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        // The default hooks send requests anywhere; implement `WasiHttpHooks` and
        // its `send_request` to restrict where the component may connect.
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: wasmtime_wasi_http::default_hooks() }
    }
}

#[tokio::main]
async fn main() -> wasmtime::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, wasm, config, name] = args.as_slice() else {
        wasmtime::bail!("usage: minimal_host COMPONENT.wasm CONFIG.json LOGICAL-NAME");
    };
    let engine = Engine::default();
    let component = Component::from_file(&engine, wasm)?;
    let mut linker = Linker::<State>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;

    let state = State {
        wasi: WasiCtxBuilder::new().inherit_stderr().build(),
        http: WasiHttpCtx::new(),
        table: ResourceTable::new(),
    };
    let mut store = Store::new(&engine, state);
    let bindings = ArtifactRegistry::instantiate_async(&mut store, &component, &linker).await?;
    let api = bindings.artifact_registry_bindings_registry().registry();

    let registry = match api.call_open(&mut store, &std::fs::read_to_string(config)?).await? {
        Ok(registry) => registry,
        Err(e) => wasmtime::bail!("bad configuration: {}", e.message),
    };
    println!("registry endpoint: {}", api.call_registry_endpoint(&mut store, registry).await?);
    // The lifecycle: create, get, push credentials, delete, and get once more.
    let repo = match api.call_create_repository(&mut store, registry, name).await? {
        Ok(repo) => repo,
        Err(e) => wasmtime::bail!("create failed: {:?}: {}", e.code, e.message),
    };
    println!("created {} ({})", repo.name, repo.uri.unwrap_or_default());
    match api.call_get_repository(&mut store, registry, &repo.name).await? {
        Ok(got) => println!("got {}", got.name),
        Err(e) => wasmtime::bail!("get failed: {:?}: {}", e.code, e.message),
    }
    match api.call_generate_credentials(&mut store, registry, &repo.name, Permissions::PushPull, Some(900)).await? {
        // The password is a secret: never printed.
        Ok(c) => println!(
            "credentials for {} ({:?}, expires {})",
            c.username,
            c.auth_method,
            c.expires_at.as_deref().unwrap_or("-")
        ),
        Err(e) => wasmtime::bail!("credentials failed: {:?}: {}", e.code, e.message),
    }
    if let Err(e) = api.call_delete_repository(&mut store, registry, &repo.name).await? {
        wasmtime::bail!("delete failed: {:?}: {}", e.code, e.message);
    }
    println!("deleted {}", repo.name);
    match api.call_get_repository(&mut store, registry, &repo.name).await? {
        Ok(_) => wasmtime::bail!("{} is still there", repo.name),
        Err(e) => println!("then get: {:?}: {}", e.code, e.message),
    }
    registry.resource_drop_async(&mut store).await?;
    Ok(())
}
