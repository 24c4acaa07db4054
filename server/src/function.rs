//! Redis 7 functions: FUNCTION LOAD | LIST | DELETE | FLUSH | KILL | STATS and FCALL /
//! FCALL_RO, on the same Lua VM as EVAL.
//!
//! A library is Lua code with a `#!lua name=<library>` first line; running it once registers
//! functions with `redis.register_function(name, callback)` or
//! `redis.register_function{function_name=..., callback=..., flags={...}, description=...}`.
//! Libraries are data of the keyspace ([`vole_engine::keyspace::Keyspace::function_load`]):
//! loading one logs a `FUNC_LOAD` effect and snapshots carry them, so they survive restarts
//! and reach replicas. The compiled functions here are a cache of that data, rebuilt when the
//! keyspace's function version moves (after a restart, a replayed record).

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use mlua::{Function, Lua, MultiValue, Table, Value};
use vole_engine::cmd::is;
use vole_engine::glob::glob_match;
use vole_engine::{CmdError, Reply};

use crate::conn::Session;
use crate::script::{error_text, lua_err, lua_list, raise, run_callable, split_keys, Vm};

/// The chunk name of libraries: errors say `user_function:<line>`.
const CHUNK: &str = "@user_function";

/// Flags a function may declare.
const FLAGS: &[&str] = &[
    "no-writes",
    "allow-oom",
    "allow-stale",
    "no-cluster",
    "allow-cross-slot-keys",
];

/// One registered function.
#[derive(Clone)]
pub struct Func {
    name: String,
    callback: Function,
    flags: Vec<String>,
    description: Option<String>,
}

impl Func {
    fn no_writes(&self) -> bool {
        self.flags.iter().any(|f| f == "no-writes")
    }
}

struct Library {
    code: Bytes,
    funcs: Vec<Func>,
}

/// The compiled libraries.
pub struct Functions {
    set_loading: Function,
    strict: Function,
    /// Invokes `f(keys, args)` under an error handler: `invoke(f, keys, args, handler)`.
    invoke: Function,
    libs: BTreeMap<String, Library>,
    /// Function name -> library name.
    index: HashMap<String, String>,
    /// The keyspace function version this cache was built from.
    version: u64,
}

const INVOKE: &str = r#"
local xpcall = xpcall
return function(f, keys, args, handler)
  return xpcall(function() return f(keys, args) end, handler)
end
"#;

impl Functions {
    /// An empty cache; `set_loading` and `strict` come from the VM's init chunk.
    pub fn new(lua: &Lua, set_loading: Function, strict: Function) -> mlua::Result<Functions> {
        let invoke: Function = lua.load(INVOKE).set_name("=vole_invoke").call(())?;
        Ok(Functions {
            set_loading,
            strict,
            invoke,
            libs: BTreeMap::new(),
            index: HashMap::new(),
            version: 0,
        })
    }
}

impl Functions {
    /// Number of functions loaded.
    pub fn count(&self) -> usize {
        self.index.len()
    }

    /// Number of libraries loaded.
    pub fn libraries(&self) -> usize {
        self.libs.len()
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

const BAD_NAME: &str = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// Parses `#!lua name=<library>`.
fn library_name(code: &[u8]) -> Result<String, CmdError> {
    if !code.starts_with(b"#!") {
        return Err(CmdError::err("Missing library metadata"));
    }
    let line = code.split(|&b| b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(&line[2..]).into_owned();
    let mut words = text.split_whitespace();
    let engine = words.next().unwrap_or("");
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(CmdError::err(format!("Engine '{engine}' not found")));
    }
    let mut name = None;
    for w in words {
        match w.strip_prefix("name=") {
            Some(n) => name = Some(n.to_string()),
            None => return Err(CmdError::err(format!("Invalid metadata value given: {w}"))),
        }
    }
    let name = name.ok_or_else(|| CmdError::err("Library name was not given"))?;
    if !valid_name(&name) {
        return Err(CmdError::Other(BAD_NAME.into()));
    }
    Ok(name)
}

/// Runs a library's code with the loading API and returns its functions.
fn compile(vm: &Vm, code: &[u8]) -> Result<(String, Vec<Func>), CmdError> {
    let name = library_name(code)?;
    let lua = &vm.lua;
    let body = match code.iter().position(|&b| b == b'\n') {
        Some(i) => &code[i..],
        None => &[][..],
    };
    let chunk = lua
        .load(body)
        .set_name(CHUNK)
        .set_environment(vm.env.clone())
        .into_function()
        .map_err(|e| {
            CmdError::err(format!(
                "Error compiling function: {}",
                crate::script::plain_error(&e)
            ))
        })?;
    let registered = lua.create_table().map_err(lua_err)?;
    let register = {
        let registered = registered.clone();
        lua.create_function(move |lua, args: MultiValue| register_function(lua, &registered, args))
            .map_err(lua_err)?
    };
    let api = lua.create_table().map_err(lua_err)?;
    api.raw_set("register_function", register)
        .map_err(lua_err)?;
    let full: Table = vm.sandbox.raw_get("redis").map_err(lua_err)?;
    for k in [
        "log",
        "LOG_DEBUG",
        "LOG_VERBOSE",
        "LOG_NOTICE",
        "LOG_WARNING",
        "REDIS_VERSION",
        "REDIS_VERSION_NUM",
        "setresp",
    ] {
        let v: Value = full.get(k).map_err(lua_err)?;
        api.raw_set(k, v).map_err(lua_err)?;
    }
    let api: Table = vm.functions.strict.call(api).map_err(lua_err)?;
    vm.functions.set_loading.call::<()>(api).map_err(lua_err)?;
    let r = vm.xpcall.call::<MultiValue>((chunk, vm.handler.clone()));
    vm.functions
        .set_loading
        .call::<()>(Value::Nil)
        .map_err(lua_err)?;
    let r = r.map_err(lua_err)?;
    let mut it = r.into_iter();
    if !matches!(it.next(), Some(Value::Boolean(true))) {
        let err = it.next().unwrap_or(Value::Nil);
        return Err(CmdError::err(format!(
            "Error registering functions: {}",
            error_text(&err)
        )));
    }
    let mut funcs = Vec::new();
    for i in 1..=registered.raw_len() {
        let t: Table = registered.raw_get(i).map_err(lua_err)?;
        funcs.push(Func {
            name: t.raw_get("name").map_err(lua_err)?,
            callback: t.raw_get("callback").map_err(lua_err)?,
            flags: t.raw_get::<Vec<String>>("flags").map_err(lua_err)?,
            description: t.raw_get("description").map_err(lua_err)?,
        });
    }
    if funcs.is_empty() {
        return Err(CmdError::err("No functions registered"));
    }
    Ok((name, funcs))
}

/// `redis.register_function(name, callback)` or `redis.register_function{...}`.
fn register_function(lua: &Lua, registered: &Table, args: MultiValue) -> mlua::Result<()> {
    let args: Vec<Value> = args.into_iter().collect();
    let (name, callback, flags, description) = match args.as_slice() {
        [Value::String(n), Value::Function(f)] => {
            (n.to_string_lossy(), f.clone(), Vec::new(), None)
        }
        [Value::Table(t)] => {
            let mut name = None;
            let mut callback = None;
            let mut flags = Vec::new();
            let mut description = None;
            for pair in t.pairs::<String, Value>() {
                let (k, v) = pair?;
                match (k.as_str(), v) {
                    ("function_name", Value::String(s)) => name = Some(s.to_string_lossy()),
                    ("callback", Value::Function(f)) => callback = Some(f),
                    ("description", Value::String(s)) => description = Some(s.to_string_lossy()),
                    ("flags", Value::Table(list)) => {
                        for f in list.sequence_values::<String>() {
                            let f = f?;
                            if !FLAGS.contains(&f.as_str()) {
                                return Err(raise("ERR unknown flag given"));
                            }
                            flags.push(f);
                        }
                    }
                    (other, _) => {
                        return Err(raise(format!("ERR unknown argument given: {other}")))
                    }
                }
            }
            let name = name.ok_or_else(|| {
                raise("ERR redis.register_function must get a function name argument")
            })?;
            let callback = callback
                .ok_or_else(|| raise("ERR redis.register_function must get a callback argument"))?;
            (name, callback, flags, description)
        }
        _ => {
            return Err(raise(
                "ERR wrong arguments given to redis.register_function",
            ))
        }
    };
    if !valid_name(&name) {
        return Err(raise(BAD_NAME));
    }
    for v in registered.sequence_values::<Table>() {
        if v?.raw_get::<String>("name")? == name {
            return Err(raise("ERR Function already exists in the library"));
        }
    }
    let t = lua.create_table()?;
    t.raw_set("name", name)?;
    t.raw_set("callback", callback)?;
    t.raw_set("flags", flags)?;
    if let Some(d) = description {
        t.raw_set("description", d)?;
    }
    registered.raw_set(registered.raw_len() + 1, t)?;
    Ok(())
}

/// Rebuilds the cache when the keyspace's libraries changed (start-up, replay).
fn sync(vm: &mut Vm, s: &Session) {
    let ks = &s.server.ks;
    if vm.functions.version == ks.functions_version() {
        return;
    }
    let (version, libraries) = ks.function_libraries();
    vm.functions.libs.clear();
    vm.functions.index.clear();
    for (name, code) in libraries {
        match compile(vm, &code) {
            Ok((_, funcs)) => install(vm, &name, code, funcs),
            Err(e) => {
                tracing::warn!(library = %name, "function library does not load: {}", e.to_line())
            }
        }
    }
    vm.functions.version = version;
}

fn install(vm: &mut Vm, name: &str, code: Bytes, funcs: Vec<Func>) {
    for f in &funcs {
        vm.functions.index.insert(f.name.clone(), name.to_string());
    }
    vm.functions
        .libs
        .insert(name.to_string(), Library { code, funcs });
}

fn uninstall(vm: &mut Vm, name: &str) {
    if let Some(lib) = vm.functions.libs.remove(name) {
        for f in lib.funcs {
            vm.functions.index.remove(&f.name);
        }
    }
}

/// FUNCTION LOAD [REPLACE] code.
fn load(s: &mut Session, args: &[Bytes]) -> Result<Reply, CmdError> {
    let (replace, code) = match args.len() {
        3 => (false, &args[2]),
        4 if is(&args[2], "replace") => (true, &args[3]),
        4 => {
            return Err(CmdError::err(format!(
                "Unknown option given: {}",
                String::from_utf8_lossy(&args[2])
            )))
        }
        _ => return Err(CmdError::WrongArity("function|load".into())),
    };
    let server = s.server.clone();
    let mut vm = server.scripting.lock_vm();
    sync(&mut vm, s);
    let (name, funcs) = compile(&vm, code)?;
    if vm.functions.libs.contains_key(&name) && !replace {
        return Err(CmdError::err(format!("Library '{name}' already exists")));
    }
    for f in &funcs {
        if let Some(owner) = vm.functions.index.get(&f.name) {
            if *owner != name {
                return Err(CmdError::err(format!("Function {} already exists", f.name)));
            }
        }
    }
    {
        let mut w = server.ks.writer();
        server.ks.function_load(&mut w, &name, code.clone());
    }
    uninstall(&mut vm, &name);
    install(&mut vm, &name, code.clone(), funcs);
    vm.functions.version = server.ks.functions_version();
    s.wrote = server.ks.is_logged();
    Ok(Reply::bulk_string(name))
}

/// FCALL / FCALL_RO function numkeys key... arg...
pub fn fcall(s: &mut Session, args: &[Bytes], read_only: bool) -> Reply {
    let mut inner = || -> Result<Reply, CmdError> {
        let (keys, argv) = split_keys(args)?;
        let server = s.server.clone();
        let mut vm = server.scripting.lock_vm();
        sync(&mut vm, s);
        let name = String::from_utf8_lossy(&args[1]).into_owned();
        let func = vm
            .functions
            .index
            .get(&name)
            .and_then(|lib| vm.functions.libs.get(lib))
            .and_then(|lib| lib.funcs.iter().find(|f| f.name == name))
            .cloned()
            .ok_or_else(|| CmdError::err("Function not found"))?;
        if read_only && !func.no_writes() {
            return Err(CmdError::err(
                "Can not execute a script with write flag using *_ro command.",
            ));
        }
        let keys = lua_list(&vm.lua, keys)?;
        let argv = lua_list(&vm.lua, argv)?;
        let call = || {
            vm.functions.invoke.call::<MultiValue>((
                func.callback.clone(),
                keys,
                argv,
                vm.handler.clone(),
            ))
        };
        run_callable(s, &vm, call, read_only || func.no_writes(), &name, CHUNK)
    };
    inner().unwrap_or_else(Reply::from)
}

/// FUNCTION <subcommand>.
pub fn function(s: &mut Session, args: &[Bytes]) -> Result<Reply, CmdError> {
    let sub = &args[1];
    if is(sub, "load") {
        return load(s, args);
    }
    if is(sub, "kill") {
        return s.server.scripting.kill();
    }
    let server = s.server.clone();
    if is(sub, "delete") {
        let name = String::from_utf8_lossy(&args[2]).into_owned();
        let mut vm = server.scripting.lock_vm();
        sync(&mut vm, s);
        let deleted = {
            let mut w = server.ks.writer();
            server.ks.function_delete(&mut w, &name)
        };
        if !deleted {
            return Err(CmdError::err("Library not found"));
        }
        uninstall(&mut vm, &name);
        vm.functions.version = server.ks.functions_version();
        s.wrote = server.ks.is_logged();
        return Ok(Reply::Ok);
    }
    if is(sub, "flush") {
        if args.len() > 3
            || args
                .get(2)
                .is_some_and(|a| !is(a, "async") && !is(a, "sync"))
        {
            return Err(CmdError::err(
                "FUNCTION FLUSH only supports SYNC|ASYNC option",
            ));
        }
        let mut vm = server.scripting.lock_vm();
        {
            let mut w = server.ks.writer();
            server.ks.function_flush(&mut w);
        }
        vm.functions.libs.clear();
        vm.functions.index.clear();
        vm.functions.version = server.ks.functions_version();
        s.wrote = server.ks.is_logged();
        return Ok(Reply::Ok);
    }
    if is(sub, "list") {
        let mut pattern: Option<&Bytes> = None;
        let mut with_code = false;
        let mut i = 2;
        while i < args.len() {
            if is(&args[i], "withcode") {
                with_code = true;
                i += 1;
            } else if is(&args[i], "libraryname") && i + 1 < args.len() {
                pattern = Some(&args[i + 1]);
                i += 2;
            } else {
                return Err(CmdError::err("Unknown argument"));
            }
        }
        let mut vm = server.scripting.lock_vm();
        sync(&mut vm, s);
        let mut out = Vec::new();
        for (name, lib) in &vm.functions.libs {
            if pattern.is_some_and(|p| !glob_match(p, name.as_bytes(), false)) {
                continue;
            }
            let funcs = lib
                .funcs
                .iter()
                .map(|f| {
                    Reply::Map(vec![
                        (Reply::bulk("name"), Reply::bulk(&f.name)),
                        (
                            Reply::bulk("description"),
                            f.description.as_ref().map_or(Reply::Nil, Reply::bulk),
                        ),
                        (
                            Reply::bulk("flags"),
                            Reply::Set(
                                f.flags
                                    .iter()
                                    .map(|x| Reply::Status(Bytes::from(x.clone())))
                                    .collect(),
                            ),
                        ),
                    ])
                })
                .collect();
            let mut entry = vec![
                (Reply::bulk("library_name"), Reply::bulk(name)),
                (Reply::bulk("engine"), Reply::bulk("LUA")),
                (Reply::bulk("functions"), Reply::Array(funcs)),
            ];
            if with_code {
                entry.push((Reply::bulk("library_code"), Reply::Bulk(lib.code.clone())));
            }
            out.push(Reply::Map(entry));
        }
        return Ok(Reply::Array(out));
    }
    if is(sub, "stats") {
        let sc = &server.scripting;
        let running = if sc.is_running() {
            Reply::Map(vec![
                (Reply::bulk("name"), Reply::bulk("?")),
                (Reply::bulk("command"), Reply::Array(Vec::new())),
                (
                    Reply::bulk("duration_ms"),
                    Reply::Int(sc.now_ms() - sc.started_at_ms()),
                ),
            ])
        } else {
            Reply::Nil
        };
        let vm = server.scripting.lock_vm();
        let nfuncs: usize = vm.functions.libs.values().map(|l| l.funcs.len()).sum();
        return Ok(Reply::Map(vec![
            (Reply::bulk("running_script"), running),
            (
                Reply::bulk("engines"),
                Reply::Map(vec![(
                    Reply::bulk("LUA"),
                    Reply::Map(vec![
                        (
                            Reply::bulk("libraries_count"),
                            Reply::Int(vm.functions.libs.len() as i64),
                        ),
                        (Reply::bulk("functions_count"), Reply::Int(nfuncs as i64)),
                    ]),
                )]),
            ),
        ]));
    }
    Ok(vole_engine::cmd::keys::help_reply(&[
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "HELP",
        "    Print this help.",
    ]))
}
