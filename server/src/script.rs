//! Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT, on a real Lua 5.1 (mlua,
//! vendored, so it builds offline).
//!
//! - **Atomic.** A script that may write runs under the keyspace's outermost writer, inside
//!   [`vole_engine::keyspace::Keyspace::atomically`]: the commands it calls take nested
//!   writers, so no other write interleaves, readers never see part of it, and everything it
//!   changes is one log record of *effects* (the script itself is never logged, so replay
//!   does not depend on the script cache).
//! - **Sandboxed.** Scripts see only an allow-list of globals (Redis 7's): no `os`, `io`,
//!   `require`, `loadfile`, `dofile`, `print`, `getfenv`/`setfenv`. Globals and the library
//!   tables are read-only (`Attempt to modify a readonly table`), and reading an unknown
//!   global is an error, with Redis's messages.
//! - **Redis's conversions** between RESP and Lua values in both directions, RESP2 by default
//!   and RESP3 after `redis.setresp(3)`; see [`reply_to_lua`] and [`lua_to_reply`].
//! - **Errors** have Redis 7's shape: `ERR user_script:1: boom script: <sha>, on
//!   @user_script:1.` (the line comes from the stack when the error is raised, as Redis's
//!   error handler does).
//! - **Busy scripts.** A hook every 100k instructions checks for `SCRIPT KILL`; after
//!   `busy-reply-threshold` ms other clients get `-BUSY` instead of waiting (see
//!   [`Scripting::busy`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};
use parking_lot::Mutex;
use vole_engine::cmd::{int_arg, is};
use vole_engine::command::{flags, resolve, Exec};
use vole_engine::resp::{self, Proto};
use vole_engine::{CmdError, Reply};

use crate::conn::{misconf, run_engine, Session};

/// Redis's name for the chunk; error messages say `user_script:<line>`.
const CHUNK: &str = "@user_script";

/// Most memory the Lua VM may hold (scripts and their data).
const LUA_MEMORY_LIMIT: usize = 1 << 30;

/// Deepest table nesting converted to a reply (a self-referencing table would recurse
/// forever; the recursion must fit a worker thread's stack).
const MAX_DEPTH: usize = 128;

/// The VM and its compiled scripts.
pub(crate) struct Vm {
    pub(crate) lua: Lua,
    /// The table scripts read their globals from (KEYS and ARGV are set here per call).
    pub(crate) sandbox: Table,
    /// The read-only view of `sandbox` given to scripts as their environment.
    pub(crate) env: Table,
    pub(crate) xpcall: Function,
    pub(crate) handler: Function,
    /// Function libraries (FUNCTION LOAD), compiled.
    pub(crate) functions: crate::function::Functions,
    /// sha1 (lower-case hex) -> compiled function.
    funcs: HashMap<String, Function>,
    /// sha1 -> source, for SCRIPT EXISTS and EVALSHA.
    bodies: HashMap<String, Bytes>,
}

/// INFO memory's scripting figures.
#[derive(Debug, Default)]
pub struct ScriptStats {
    pub lua_memory: usize,
    pub script_bytes: usize,
    pub cached: usize,
    pub functions: usize,
    pub libraries: usize,
}

/// The scripting engine of a server.
pub struct Scripting {
    pub(crate) vm: Mutex<Vm>,
    /// A script is running (set and cleared by the thread running it).
    running: AtomicBool,
    /// When it started (ms since the server's epoch instant).
    started_ms: AtomicI64,
    /// SCRIPT KILL asked the running script to stop (read by the VM's instruction hook).
    kill: Arc<AtomicBool>,
    /// The running script has written (it can then not be killed).
    wrote: AtomicBool,
    /// `redis.setresp` of the running script: 2 or 3.
    resp: AtomicU8,
    epoch: Instant,
    /// Woken when a script ends (clients waiting behind a busy script).
    pub done: tokio::sync::Notify,
}

pub(crate) fn lua_err(e: mlua::Error) -> CmdError {
    CmdError::err(format!("Lua: {e}").replace(['\r', '\n'], " "))
}

/// The message of an error value raised in Lua (a string, an mlua error, or a table with
/// `err`).
pub(crate) fn error_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string_lossy(),
        Value::Error(e) => plain_error(e),
        Value::Table(t) => match t.raw_get::<Value>("err") {
            Ok(Value::String(s)) => s.to_string_lossy(),
            _ => "unknown error".into(),
        },
        other => format!("{other:?}"),
    }
}

/// An mlua error without mlua's decorations (`runtime error: `, callback tracebacks).
pub(crate) fn plain_error(e: &mlua::Error) -> String {
    match e {
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => plain_error(cause),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

const INIT: &str = r##"
local sandbox = ...
local error, rawget, setmetatable, type = error, rawget, setmetatable, type
local function readonly(t)
  return setmetatable({}, {
    __index = t,
    __newindex = function() error("Attempt to modify a readonly table", 2) end,
    __metatable = false,
  })
end
-- A read-only view of `t` whose missing fields are errors, like missing globals; `first`
-- may answer some names before `t`.
local function strict(t, first)
  return setmetatable({}, {
    __index = function(_, k)
      local v = first and first(k)
      if v == nil then v = rawget(t, k) end
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end,
    __newindex = function() error("Attempt to modify a readonly table", 2) end,
    __metatable = false,
  })
end
-- While a function library loads, `redis` is the loading API (register_function).
local loading_redis = nil
local env = strict(sandbox, function(k)
  if k == "redis" then return loading_redis end
end)
local redis = sandbox.redis
redis.error_reply = function(msg)
  if type(msg) ~= "string" then error("wrong number or type of arguments", 2) end
  return {err = msg}
end
redis.status_reply = function(msg)
  if type(msg) ~= "string" then error("wrong number or type of arguments", 2) end
  return {ok = msg}
end
for _, name in ipairs({"string", "table", "math", "redis", "bit", "cjson", "cmsgpack", "struct", "coroutine"}) do
  if sandbox[name] ~= nil then sandbox[name] = readonly(sandbox[name]) end
end
sandbox._G = env
local real_loadstring = loadstring
sandbox.loadstring = function(s, name)
  local f, e = real_loadstring(s, name)
  if f then setfenv(f, env) end
  return f, e
end
-- Errors raised from Rust reach Lua as error objects; a script's pcall sees their text, as
-- it sees Redis's error strings.
local real_pcall, plain, unpack, select = pcall, sandbox.__plain, unpack, select
sandbox.__plain = nil
local function pack(...) return select("#", ...), {...} end
sandbox.pcall = function(f, ...)
  local n, r = pack(real_pcall(f, ...))
  if not r[1] then r[2] = plain(r[2]) end
  return unpack(r, 1, n)
end
local function set_loading(r) loading_redis = r end
return env, set_loading, function(t) return strict(t) end
"##;

/// Globals scripts may read (Redis 7's allow-list, without `getfenv`/`setfenv`).
const ALLOWED: &[&str] = &[
    "assert",
    "collectgarbage",
    "coroutine",
    "error",
    "gcinfo",
    "getmetatable",
    "ipairs",
    "math",
    "next",
    "pairs",
    "pcall",
    "rawequal",
    "rawget",
    "rawset",
    "select",
    "setmetatable",
    "string",
    "table",
    "tonumber",
    "tostring",
    "type",
    "unpack",
    "xpcall",
    "_VERSION",
];

impl Vm {
    fn new(kill: Arc<AtomicBool>) -> mlua::Result<Vm> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::new(),
        )?;
        // A script that allocates without bound gets "not enough memory" instead of taking
        // the server's memory.
        lua.set_memory_limit(LUA_MEMORY_LIMIT)?;
        lua.set_app_data(CallSlot::default());
        let g = lua.globals();
        let sandbox = lua.create_table()?;
        for name in ALLOWED {
            let v: Value = g.raw_get(*name)?;
            sandbox.raw_set(*name, v)?;
        }
        sandbox.raw_set("redis", redis_table(&lua)?)?;
        crate::script_libs::install(&lua, &sandbox)?;
        sandbox.raw_set(
            "__plain",
            lua.create_function(|lua, v: Value| match v {
                Value::Error(e) => Ok(Value::String(lua.create_string(plain_error(&e))?)),
                other => Ok(other),
            })?,
        )?;
        let (env, set_loading, strict): (Table, Function, Function) = lua
            .load(INIT)
            .set_name("=vole_init")
            .call(sandbox.clone())?;
        let xpcall: Function = g.raw_get("xpcall")?;
        let lua_for_functions = lua.clone();
        // Checked every 100k instructions: SCRIPT KILL stops a script that has not written.
        // A script that gets this far is a long one: it hands its runtime worker (and the
        // connections queued on it) to another thread, so none of them waits for the script.
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(100_000),
            move |_, _| {
                hand_off_worker();
                if kill.load(Ordering::Acquire) {
                    return Err(raise("ERR Script killed by user with SCRIPT KILL..."));
                }
                Ok(VmState::Continue)
            },
        );
        let handler = lua.create_function(error_handler)?;
        Ok(Vm {
            lua,
            sandbox,
            env,
            xpcall,
            handler,
            functions: crate::function::Functions::new(&lua_for_functions, set_loading, strict)?,
            funcs: HashMap::new(),
            bodies: HashMap::new(),
        })
    }

    /// Compiles (or finds) the script with this body; returns its sha.
    fn load(&mut self, body: &Bytes) -> Result<String, CmdError> {
        let sha = sha1_smol::Sha1::from(&body[..]).digest().to_string();
        if self.funcs.contains_key(&sha) {
            return Ok(sha);
        }
        let code = strip_shebang(body);
        let f = self
            .lua
            .load(code)
            .set_name(CHUNK)
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| {
                CmdError::err(format!(
                    "Error compiling script (new function): {}",
                    plain_error(&e)
                ))
            })?;
        self.funcs.insert(sha.clone(), f);
        self.bodies.insert(sha.clone(), body.clone());
        Ok(sha)
    }
}

/// An error raised to a script with exactly this text (no position, no `ERR ` added):
/// errors of `redis.call`, and SCRIPT KILL.
#[derive(Debug)]
struct ScriptErr(String);

impl std::fmt::Display for ScriptErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScriptErr {}

pub(crate) fn raise(text: impl Into<String>) -> mlua::Error {
    mlua::Error::external(ScriptErr(text.into()))
}

fn script_err(e: &mlua::Error) -> Option<&str> {
    match e {
        mlua::Error::ExternalError(x) => x.downcast_ref::<ScriptErr>().map(|s| s.0.as_str()),
        mlua::Error::CallbackError { cause, .. } => script_err(cause),
        _ => None,
    }
}

/// The error handler scripts run under (Redis's `__redis__err__handler`): makes every error
/// a table `{err = ..., source = ..., line = ...}`, with the source and line of the script
/// code that raised it (the first Lua frame that is not Vole's own).
fn error_handler(lua: &Lua, err: Value) -> mlua::Result<Table> {
    let mut at: Option<(String, String, i32)> = None;
    for level in 1..64 {
        let Some(d) = lua.inspect_stack(level) else {
            break;
        };
        let src = d.source();
        if src.what == "C" || src.source.as_deref() == Some("=vole_init") {
            continue;
        }
        at = Some((
            src.source.as_deref().unwrap_or("?").to_string(),
            src.short_src.as_deref().unwrap_or("?").to_string(),
            d.curr_line(),
        ));
        break;
    }
    let msg = match &err {
        Value::Table(_) => error_text(&err),
        Value::Error(e) => match script_err(e) {
            Some(text) => text.to_string(),
            // A library function's error: Lua would put the caller's position first.
            None => match &at {
                Some((_, short, line)) => format!("ERR {short}:{line}: {}", plain_error(e)),
                None => format!("ERR {}", plain_error(e)),
            },
        },
        _ => format!("ERR {}", error_text(&err)),
    };
    let t = lua.create_table()?;
    t.raw_set("err", msg)?;
    if let Some((source, _, line)) = at {
        t.raw_set("source", source)?;
        t.raw_set("line", line)?;
    }
    Ok(t)
}

/// A script's first line `#!lua [flags=...]` is Redis 7's shebang; the code starts after it.
fn strip_shebang(body: &[u8]) -> &[u8] {
    if body.starts_with(b"#!") {
        // Keep the newline so line numbers stay right.
        match body.iter().position(|&b| b == b'\n') {
            Some(i) => &body[i..],
            None => b"",
        }
    } else {
        body
    }
}

/// Script flags from a shebang.
#[derive(Debug, Default, Clone, Copy)]
struct ScriptFlags {
    no_writes: bool,
}

fn parse_shebang(body: &[u8]) -> Result<ScriptFlags, CmdError> {
    if !body.starts_with(b"#!") {
        return Ok(ScriptFlags::default());
    }
    let line = body.split(|&b| b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(&line[2..]);
    let mut words = text.split_whitespace();
    let engine = words.next().unwrap_or("");
    if engine != "lua" {
        return Err(CmdError::err(format!(
            "Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(line)
        )));
    }
    let mut f = ScriptFlags::default();
    for w in words {
        let Some(list) = w.strip_prefix("flags=") else {
            return Err(CmdError::err(format!("Unknown lua shebang option: {w}")));
        };
        for flag in list.split(',').filter(|s| !s.is_empty()) {
            match flag {
                "no-writes" => f.no_writes = true,
                "allow-oom" | "allow-stale" | "no-cluster" | "allow-cross-slot-keys" => {}
                other => {
                    return Err(CmdError::err(format!(
                        "Unexpected flag in script shebang: {other}"
                    )))
                }
            }
        }
    }
    Ok(f)
}

fn redis_table(lua: &Lua) -> mlua::Result<Table> {
    let r = lua.create_table()?;
    r.raw_set(
        "sha1hex",
        lua.create_function(|_, s: mlua::String| {
            Ok(sha1_smol::Sha1::from(&s.as_bytes()[..])
                .digest()
                .to_string())
        })?,
    )?;
    r.raw_set(
        "log",
        lua.create_function(|lua, args: MultiValue| {
            let mut it = args.into_iter();
            let level = match it.next() {
                Some(Value::Integer(l)) => l,
                Some(Value::Number(n)) => n as i64,
                _ => {
                    return Err(mlua::Error::runtime(
                        "First argument must be a number (log level).",
                    ))
                }
            };
            if !(0..=3).contains(&level) {
                return Err(mlua::Error::runtime("Invalid debug level."));
            }
            let mut text = String::new();
            for v in it {
                if !text.is_empty() {
                    text.push(' ');
                }
                if let Some(s) = lua.coerce_string(v)? {
                    text.push_str(&s.to_string_lossy());
                }
            }
            match level {
                0 => tracing::debug!(target: "script", "{text}"),
                1 | 2 => tracing::info!(target: "script", "{text}"),
                _ => tracing::warn!(target: "script", "{text}"),
            }
            Ok(())
        })?,
    )?;
    for (name, v) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        r.raw_set(name, v)?;
    }
    r.raw_set("REDIS_VERSION", crate::commands::REDIS_VERSION)?;
    r.raw_set("REDIS_VERSION_NUM", 0x07_02_04)?;
    // Effects replication is the only mode (as in Redis 7): these remain for old scripts.
    r.raw_set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    r.raw_set(
        "set_repl",
        lua.create_function(|_, v: Value| match v {
            Value::Integer(0..=3) => Ok(()),
            _ => Err(mlua::Error::runtime(
                "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
            )),
        })?,
    )?;
    r.raw_set("call", lua.create_function(bridge(true))?)?;
    r.raw_set("pcall", lua.create_function(bridge(false))?)?;
    r.raw_set("setresp", lua.create_function(setresp)?)?;
    r.raw_set("breakpoint", lua.create_function(|_, ()| Ok(false))?)?;
    r.raw_set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    Ok(r)
}

impl Default for Scripting {
    fn default() -> Self {
        Scripting::new()
    }
}

impl Scripting {
    /// A fresh engine.
    pub fn new() -> Scripting {
        let kill = Arc::new(AtomicBool::new(false));
        let vm = match Vm::new(kill.clone()) {
            Ok(vm) => vm,
            // The init chunk is ours and fixed; failing here is a build defect.
            Err(e) => panic!("cannot initialise the Lua VM: {e}"),
        };
        Scripting {
            vm: Mutex::new(vm),
            running: AtomicBool::new(false),
            started_ms: AtomicI64::new(0),
            kill,
            wrote: AtomicBool::new(false),
            resp: AtomicU8::new(2),
            epoch: Instant::now(),
            done: tokio::sync::Notify::new(),
        }
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.epoch.elapsed().as_millis() as i64
    }

    /// Whether a script has been running for longer than `threshold_ms` (other clients then
    /// get `-BUSY`).
    pub fn busy(&self, threshold_ms: i64) -> bool {
        self.running.load(Ordering::Acquire)
            && self.now_ms() - self.started_ms.load(Ordering::Relaxed) >= threshold_ms
    }

    /// Whether a script is running now.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// The VM, for running or managing scripts. When another script holds it, the wait
    /// happens in `block_in_place`: the runtime moves this worker's other connections to a
    /// fresh worker, so `SCRIPT KILL` and `-BUSY` replies are still served however long the
    /// running script takes.
    pub(crate) fn lock_vm(&self) -> parking_lot::MutexGuard<'_, Vm> {
        if let Some(g) = self.vm.try_lock_for(std::time::Duration::from_millis(2)) {
            return g;
        }
        blocking(|| self.vm.lock())
    }

    /// When the running script started (see [`Scripting::now_ms`]).
    pub(crate) fn started_at_ms(&self) -> i64 {
        self.started_ms.load(Ordering::Relaxed)
    }

    /// SCRIPT KILL.
    pub fn kill(&self) -> Result<Reply, CmdError> {
        if !self.running.load(Ordering::Acquire) {
            return Err(CmdError::Other(
                "NOTBUSY No scripts in execution right now.".into(),
            ));
        }
        if self.wrote.load(Ordering::Acquire) {
            return Err(CmdError::Other("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.".into()));
        }
        self.kill.store(true, Ordering::Release);
        Ok(Reply::Ok)
    }

    /// SCRIPT LOAD.
    pub fn load(&self, body: &Bytes) -> Result<Reply, CmdError> {
        parse_shebang(body)?;
        let sha = self.lock_vm().load(body)?;
        Ok(Reply::bulk_string(sha))
    }

    /// SCRIPT EXISTS.
    pub fn exists(&self, shas: &[Bytes]) -> Reply {
        let vm = self.lock_vm();
        Reply::Array(
            shas.iter()
                .map(|s| {
                    let key = String::from_utf8_lossy(s).to_ascii_lowercase();
                    Reply::Int(i64::from(vm.bodies.contains_key(&key)))
                })
                .collect(),
        )
    }

    /// SCRIPT FLUSH.
    pub fn flush(&self) {
        let mut vm = self.lock_vm();
        vm.funcs.clear();
        vm.bodies.clear();
        vm.lua.gc_collect().ok();
    }

    /// Figures for INFO memory. Does not wait for a running script (then the VM's numbers
    /// are left at 0).
    pub fn stats(&self) -> ScriptStats {
        let Some(vm) = self.vm.try_lock() else {
            return ScriptStats::default();
        };
        ScriptStats {
            lua_memory: vm.lua.used_memory(),
            script_bytes: vm.bodies.values().map(|b| b.len()).sum(),
            cached: vm.bodies.len(),
            functions: vm.functions.count(),
            libraries: vm.functions.libraries(),
        }
    }
}

/// Runs `f`, which may wait for a running script, without taking a runtime worker away
/// from other connections (see [`Scripting::lock_vm`]).
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Called from a long script's instruction hook: the runtime worker running the script
/// passes its other connections to a fresh thread, so they (SCRIPT KILL among them) are
/// served while the script goes on. `block_in_place` takes its worker back when the closure
/// returns before the fresh thread has picked the worker up, so the closure waits (at most
/// 50 ms) until a probe task spawned on this runtime has run elsewhere. With one worker per
/// connection runtime an empty closure lost that race most of the time.
fn hand_off_worker() {
    let Ok(h) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if h.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return;
    }
    let served = Arc::new(AtomicBool::new(false));
    let probe = served.clone();
    drop(h.spawn(async move { probe.store(true, Ordering::Release) }));
    tokio::task::block_in_place(|| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(50);
        while !served.load(Ordering::Acquire) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_micros(50));
        }
    });
}

/// The keyspace's slow-wait hook: a writer waiting behind a long script or transaction.
pub fn slow_wait(f: &mut dyn FnMut()) {
    blocking(f)
}

/// EVAL / EVALSHA / EVAL_RO / EVALSHA_RO.
pub fn eval(s: &mut Session, args: &[Bytes], by_sha: bool, read_only: bool) -> Reply {
    match eval_inner(s, args, by_sha, read_only) {
        Ok(r) => r,
        Err(e) => e.into(),
    }
}

/// Splits `<name> numkeys key... arg...` (EVAL, FCALL) into keys and args, with Redis's
/// errors.
pub(crate) fn split_keys(args: &[Bytes]) -> Result<(&[Bytes], &[Bytes]), CmdError> {
    let numkeys = int_arg(&args[2])?;
    if numkeys < 0 {
        return Err(CmdError::err("Number of keys can't be negative"));
    }
    if numkeys as usize > args.len() - 3 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let nk = numkeys as usize;
    Ok((&args[3..3 + nk], &args[3 + nk..]))
}

pub(crate) fn lua_list(lua: &Lua, items: &[Bytes]) -> Result<Table, CmdError> {
    let t = lua
        .create_table_with_capacity(items.len(), 0)
        .map_err(lua_err)?;
    for (i, k) in items.iter().enumerate() {
        let v = lua.create_string(k).map_err(lua_err)?;
        t.raw_set(i + 1, v).map_err(lua_err)?;
    }
    Ok(t)
}

fn eval_inner(
    s: &mut Session,
    args: &[Bytes],
    by_sha: bool,
    read_only: bool,
) -> Result<Reply, CmdError> {
    let (keys, argv) = split_keys(args)?;
    let server = s.server.clone();
    let mut vm = server.scripting.lock_vm();
    let sha = if by_sha {
        let sha = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        if !vm.funcs.contains_key(&sha) {
            return Err(CmdError::Other(
                "NOSCRIPT No matching script. Please use EVAL.".into(),
            ));
        }
        sha
    } else {
        parse_shebang(&args[1])?;
        vm.load(&args[1])?
    };
    let flags = vm
        .bodies
        .get(&sha)
        .map(|b| parse_shebang(b))
        .transpose()?
        .unwrap_or_default();
    let Some(func) = vm.funcs.get(&sha).cloned() else {
        return Err(CmdError::err("script vanished from the cache"));
    };
    let lua = vm.lua.clone();
    vm.sandbox
        .raw_set("KEYS", lua_list(&lua, keys)?)
        .map_err(lua_err)?;
    vm.sandbox
        .raw_set("ARGV", lua_list(&lua, argv)?)
        .map_err(lua_err)?;
    let call = || {
        vm.xpcall
            .call::<MultiValue>((func.clone(), vm.handler.clone()))
    };
    run_callable(s, &vm, call, read_only || flags.no_writes, &sha, CHUNK)
}

/// Runs a script or function (`call` invokes it under the error handler) as Redis does:
/// atomically under the outermost writer when it may write, as one log record, with the
/// caller's database restored after, and its result or error converted to a reply. `label`
/// names it in errors (the sha, or the function name).
pub(crate) fn run_callable(
    s: &mut Session,
    vm: &Vm,
    call: impl FnOnce() -> mlua::Result<MultiValue>,
    no_writes: bool,
    label: &str,
    default_source: &str,
) -> Result<Reply, CmdError> {
    let server = s.server.clone();
    let scripting = &server.scripting;
    let ks = server.ks.clone();
    let caller_db = s.db.clone();
    scripting.kill.store(false, Ordering::Relaxed);
    scripting.wrote.store(false, Ordering::Relaxed);
    scripting.resp.store(2, Ordering::Relaxed);
    scripting
        .started_ms
        .store(scripting.now_ms(), Ordering::Relaxed);
    scripting.running.store(true, Ordering::Release);
    let w = ks.writer();
    s.now_ms = ks.now_ms();
    let mut wrote = false;
    // Inside EXEC the transaction already holds the outermost writer and is atomic.
    let atomic = !no_writes && w.is_outermost();
    let run = || run_script(s, vm, call, no_writes, &mut wrote);
    let outcome = if atomic {
        ks.atomically(&w, run)
    } else {
        run()
    };
    drop(w);
    scripting.running.store(false, Ordering::Release);
    scripting.done.notify_waiters();
    // SELECT inside a script does not change the caller's database (Redis 7).
    s.db = caller_db;
    s.info.db.store(u64::from(s.db.id), Ordering::Relaxed);
    let value = match outcome {
        Ok(v) => v,
        Err(e) => return Err(CmdError::err(plain_error(&e))),
    };
    if wrote {
        if ks.log_failed() {
            return Err(misconf(&server));
        }
        s.wrote = true;
    }
    let mut it = value.into_iter();
    let ok = matches!(it.next(), Some(Value::Boolean(true)));
    let result = it.next().unwrap_or(Value::Nil);
    if ok {
        // Redis converts the result by the script's protocol (redis.setresp), not the
        // client's.
        let resp3 = scripting.resp.load(Ordering::Relaxed) == 3;
        return Ok(lua_to_reply(&result, resp3));
    }
    Ok(error_reply(&result, label, default_source))
}

/// The reply for an error the handler made into `{err = ..., source = ..., line = ...}`.
pub(crate) fn error_reply(result: &Value, label: &str, default_source: &str) -> Reply {
    let (text, source, line) = match result {
        Value::Table(t) => (
            error_text(result),
            t.raw_get::<Option<String>>("source").ok().flatten(),
            t.raw_get::<Option<i64>>("line").ok().flatten(),
        ),
        other => (error_text(other), None, None),
    };
    let text = text.strip_prefix('-').unwrap_or(&text).to_string();
    let source = source.unwrap_or_else(|| default_source.to_string());
    let tail = match line {
        Some(l) => format!(" script: {label}, on {source}:{l}."),
        None => format!(" script: {label}, on {source}:?."),
    };
    Reply::Error(Bytes::from(
        format!("{text}{tail}").replace(['\r', '\n'], " "),
    ))
}

/// What `redis.call` works with while a script runs: the caller's session (moved in for the
/// duration, so the permanent bridge functions can reach it through the VM's app data).
struct CallCtx {
    session: Session,
    read_only: bool,
    wrote: bool,
    resp3: bool,
}

/// The VM's app-data slot holding the running script's [`CallCtx`] (installed once, so a
/// call only moves the context in and out).
#[derive(Default)]
struct CallSlot(Option<CallCtx>);

/// Runs the compiled script under the error handler, with `redis.call` bridged to `s`.
fn run_script(
    s: &mut Session,
    vm: &Vm,
    call: impl FnOnce() -> mlua::Result<MultiValue>,
    read_only: bool,
    wrote: &mut bool,
) -> mlua::Result<MultiValue> {
    let lua = &vm.lua;
    let placeholder = s.placeholder();
    let session = std::mem::replace(s, placeholder);
    if let Some(mut slot) = lua.app_data_mut::<CallSlot>() {
        slot.0 = Some(CallCtx {
            session,
            read_only,
            wrote: false,
            resp3: false,
        });
    }
    let r = call();
    let ctx = lua
        .app_data_mut::<CallSlot>()
        .and_then(|mut slot| slot.0.take());
    if let Some(ctx) = ctx {
        *wrote = ctx.wrote;
        *s = ctx.session;
        s.server
            .scripting
            .resp
            .store(if ctx.resp3 { 3 } else { 2 }, Ordering::Relaxed);
    }
    r
}

/// `redis.call` (`raise`) and `redis.pcall`.
fn bridge(raise_errors: bool) -> impl Fn(&Lua, MultiValue) -> mlua::Result<Value> {
    move |lua, args| {
        let mut slot = lua
            .app_data_mut::<CallSlot>()
            .ok_or_else(|| raise("ERR redis.call is only available while a script runs"))?;
        let ctx = slot
            .0
            .as_mut()
            .ok_or_else(|| raise("ERR redis.call is only available while a script runs"))?;
        let read_only = ctx.read_only;
        let (reply, write) = call_command(&mut ctx.session, lua, args, read_only)?;
        if write && !reply.is_error() {
            ctx.wrote = true;
            ctx.session
                .server
                .scripting
                .wrote
                .store(true, Ordering::Release);
        }
        let resp3 = ctx.resp3;
        drop(slot);
        if raise_errors {
            if let Reply::Error(e) = &reply {
                return Err(raise_reply(e));
            }
        }
        reply_to_lua(lua, &reply, resp3)
    }
}

/// `redis.setresp(2|3)`.
fn setresp(lua: &Lua, v: Value) -> mlua::Result<()> {
    let n = match v {
        Value::Integer(n) => n,
        Value::Number(n) => n as i64,
        _ => 0,
    };
    if n != 2 && n != 3 {
        return Err(raise("ERR RESP version must be 2 or 3."));
    }
    if let Some(ctx) = lua
        .app_data_mut::<CallSlot>()
        .as_mut()
        .and_then(|slot| slot.0.as_mut())
    {
        ctx.resp3 = n == 3;
    }
    Ok(())
}

/// Runs one `redis.call` / `redis.pcall`: returns the reply and whether the command writes.
fn call_command(
    s: &mut Session,
    lua: &Lua,
    args: MultiValue,
    read_only: bool,
) -> mlua::Result<(Reply, bool)> {
    let mut argv: Vec<Bytes> = Vec::with_capacity(args.len());
    for v in args {
        match v {
            Value::String(st) => argv.push(Bytes::copy_from_slice(&st.as_bytes())),
            Value::Integer(i) => argv.push(Bytes::from(i.to_string())),
            v @ Value::Number(_) => match lua.coerce_string(v)? {
                Some(st) => argv.push(Bytes::copy_from_slice(&st.as_bytes())),
                None => {
                    return Ok((
                        err_reply(
                            "ERR Lua redis lib command arguments must be strings or integers",
                        ),
                        false,
                    ))
                }
            },
            _ => {
                return Ok((
                    err_reply("ERR Lua redis lib command arguments must be strings or integers"),
                    false,
                ))
            }
        }
    }
    if argv.is_empty() {
        return Ok((
            err_reply("ERR Please specify at least one argument for this redis lib call"),
            false,
        ));
    }
    let cmd = match resolve(&argv) {
        Ok(r) => r.cmd,
        Err(CmdError::UnknownCommand { .. }) | Err(CmdError::UnknownSubcommand { .. }) => {
            return Ok((
                err_reply("ERR Unknown Redis command called from script"),
                false,
            ))
        }
        Err(_) => {
            return Ok((
                err_reply("ERR Wrong number of args calling Redis command from script"),
                false,
            ))
        }
    };
    if cmd.flags & flags::NOSCRIPT != 0 {
        return Ok((
            err_reply("ERR This Redis command is not allowed from script"),
            false,
        ));
    }
    let write = cmd.flags & flags::WRITE != 0;
    if write && read_only {
        return Ok((
            err_reply("ERR Write commands are not allowed from read-only scripts."),
            false,
        ));
    }
    if write && s.server.ks.log_failed() {
        return Ok((misconf(&s.server).into(), false));
    }
    let reply = match cmd.exec {
        Exec::Engine(handler) => match run_engine(s, handler, &argv, write, false) {
            Reply::Block(on) => on.on_timeout,
            r => r,
        },
        Exec::Server(which) => crate::commands::run_now(s, which, &argv, true)
            .unwrap_or_else(|| err_reply("ERR This Redis command is not allowed from script")),
        Exec::Container => CmdError::WrongArity(cmd.name.to_string()).into(),
    };
    s.wrote = false;
    Ok((reply, write))
}

fn raise_reply(e: &Bytes) -> mlua::Error {
    raise(String::from_utf8_lossy(e).into_owned())
}

fn err_reply(text: &'static str) -> Reply {
    Reply::Error(Bytes::from_static(text.as_bytes()))
}

/// RESP -> Lua, as Redis converts a command's reply for a script (RESP2 shapes unless the
/// script asked for RESP3 with `redis.setresp(3)`).
pub fn reply_to_lua(lua: &Lua, r: &Reply, resp3: bool) -> mlua::Result<Value> {
    let single = |k: &str, v: Value| -> mlua::Result<Value> {
        let t = lua.create_table()?;
        t.raw_set(k, v)?;
        Ok(Value::Table(t))
    };
    let array = |items: &mut dyn Iterator<Item = mlua::Result<Value>>| -> mlua::Result<Value> {
        let t = lua.create_table()?;
        let mut i = 0;
        for v in items {
            i += 1;
            t.raw_set(i, v?)?;
        }
        Ok(Value::Table(t))
    };
    Ok(match r {
        Reply::Ok => single("ok", Value::String(lua.create_string("OK")?))?,
        Reply::Status(st) => single("ok", Value::String(lua.create_string(st)?))?,
        Reply::Error(e) => single("err", Value::String(lua.create_string(e)?))?,
        Reply::Int(i) => Value::Integer(*i),
        Reply::Bulk(b) => Value::String(lua.create_string(b)?),
        Reply::Nil | Reply::NilArray => {
            if resp3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        Reply::Array(items) | Reply::Push(items) | Reply::Frames(items) => {
            array(&mut items.iter().map(|x| reply_to_lua(lua, x, resp3)))?
        }
        Reply::Set(items) if !resp3 => {
            array(&mut items.iter().map(|x| reply_to_lua(lua, x, resp3)))?
        }
        Reply::Set(items) => {
            let t = lua.create_table()?;
            for x in items {
                t.raw_set(reply_to_lua(lua, x, resp3)?, true)?;
            }
            single("set", Value::Table(t))?
        }
        Reply::Map(pairs) | Reply::KeyedArrays(pairs) if resp3 => {
            let t = lua.create_table()?;
            for (k, v) in pairs {
                t.raw_set(reply_to_lua(lua, k, resp3)?, reply_to_lua(lua, v, resp3)?)?;
            }
            single("map", Value::Table(t))?
        }
        Reply::Map(pairs) | Reply::Pairs(pairs) if !resp3 => array(
            &mut pairs
                .iter()
                .flat_map(|(k, v)| [k, v])
                .map(|x| reply_to_lua(lua, x, resp3)),
        )?,
        Reply::Pairs(pairs) | Reply::KeyedArrays(pairs) => {
            array(&mut pairs.iter().map(|(k, v)| {
                let t = lua.create_table()?;
                t.raw_set(1, reply_to_lua(lua, k, resp3)?)?;
                t.raw_set(2, reply_to_lua(lua, v, resp3)?)?;
                Ok(Value::Table(t))
            }))?
        }
        Reply::Double(_) | Reply::DoubleText(_) | Reply::Verbatim(..) if !resp3 => {
            Value::String(lua.create_string(resp2_bulk_text(r))?)
        }
        Reply::Double(f) => single("double", Value::Number(*f))?,
        Reply::DoubleText(t) => single(
            "double",
            Value::Number(vole_engine::num::parse_f64(t).unwrap_or(0.0)),
        )?,
        Reply::Verbatim(format, text) => {
            let t = lua.create_table()?;
            t.raw_set("format", *format)?;
            t.raw_set("string", lua.create_string(text)?)?;
            single("verbatim_string", Value::Table(t))?
        }
        Reply::Bool(b) if resp3 => Value::Boolean(*b),
        Reply::Bool(b) => Value::Integer(i64::from(*b)),
        Reply::Block(b) => reply_to_lua(lua, &b.on_timeout, resp3)?,
        Reply::Map(_) => unreachable_map(),
    })
}

/// (Every `Map` case is covered above; kept total without a panic.)
fn unreachable_map() -> Value {
    Value::Nil
}

/// The text a double-like reply has as a RESP2 bulk string.
fn resp2_bulk_text(r: &Reply) -> Vec<u8> {
    let mut buf = bytes::BytesMut::new();
    resp::encode(r, Proto::Resp2, &mut buf);
    // `$<len>\r\n<text>\r\n`
    let start = buf.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
    let end = buf.len().saturating_sub(2).max(start);
    buf[start..end].to_vec()
}

/// Lua -> RESP, as Redis converts a script's return value (RESP3 shapes when the script
/// called `redis.setresp(3)`). A table nested deeper than [`MAX_DEPTH`] (a table that
/// contains itself, say) makes the whole reply an error.
pub fn lua_to_reply(v: &Value, resp3: bool) -> Reply {
    convert(v, resp3, 0)
        .unwrap_or_else(|| Reply::Error(Bytes::from_static(b"ERR reached lua stack limit")))
}

fn convert(v: &Value, resp3: bool, depth: usize) -> Option<Reply> {
    if depth > MAX_DEPTH {
        return None;
    }
    Some(match v {
        Value::Nil => Reply::Nil,
        Value::Boolean(true) => {
            if resp3 {
                Reply::Bool(true)
            } else {
                Reply::Int(1)
            }
        }
        Value::Boolean(false) => {
            if resp3 {
                Reply::Bool(false)
            } else {
                Reply::Nil
            }
        }
        Value::Integer(i) => Reply::Int(*i),
        Value::Number(n) => Reply::Int(*n as i64),
        Value::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Table(t) => return table_to_reply(t, resp3, depth),
        Value::Error(e) => Reply::Error(Bytes::from(
            format!("ERR {}", plain_error(e)).replace(['\r', '\n'], " "),
        )),
        _ => Reply::Nil,
    })
}

fn table_to_reply(t: &Table, resp3: bool, depth: usize) -> Option<Reply> {
    let field = |k: &str| t.raw_get::<Value>(k).unwrap_or(Value::Nil);
    if let Value::String(e) = field("err") {
        return Some(Reply::Error(Bytes::from(
            e.to_string_lossy().replace(['\r', '\n'], " "),
        )));
    }
    if let Value::String(ok) = field("ok") {
        return Some(Reply::Status(Bytes::from(
            ok.to_string_lossy().replace(['\r', '\n'], " "),
        )));
    }
    match field("double") {
        Value::Number(n) => return Some(Reply::Double(n)),
        Value::Integer(i) => return Some(Reply::Double(i as f64)),
        _ => {}
    }
    if let Value::Table(m) = field("map") {
        let mut pairs = Vec::new();
        for (k, v) in m.pairs::<Value, Value>().flatten() {
            pairs.push((
                convert(&k, resp3, depth + 1)?,
                convert(&v, resp3, depth + 1)?,
            ));
        }
        return Some(Reply::Map(pairs));
    }
    if let Value::Table(m) = field("set") {
        let mut items = Vec::new();
        for (k, _) in m.pairs::<Value, Value>().flatten() {
            items.push(convert(&k, resp3, depth + 1)?);
        }
        return Some(Reply::Set(items));
    }
    if let Value::String(b) = field("big_number") {
        return Some(Reply::Bulk(Bytes::copy_from_slice(&b.as_bytes())));
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(convert(&v, resp3, depth + 1)?),
        }
    }
    Some(Reply::Array(items))
}

/// SCRIPT LOAD | EXISTS | FLUSH | KILL | HELP.
pub fn script(s: &mut Session, args: &[Bytes]) -> Result<Reply, CmdError> {
    let sub = &args[1];
    let sc = &s.server.scripting;
    if is(sub, "load") {
        return sc.load(&args[2]);
    }
    if is(sub, "exists") {
        return Ok(sc.exists(&args[2..]));
    }
    if is(sub, "flush") {
        if args.len() > 3
            || args
                .get(2)
                .is_some_and(|a| !is(a, "async") && !is(a, "sync"))
        {
            return Err(CmdError::err("SCRIPT FLUSH only support SYNC|ASYNC option"));
        }
        sc.flush();
        return Ok(Reply::Ok);
    }
    if is(sub, "kill") {
        return sc.kill();
    }
    Ok(vole_engine::cmd::keys::help_reply(&[
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Print this help.",
    ]))
}

/// Shared by the server: the engine behind `EVAL` and friends.
pub type Shared = Arc<Scripting>;
