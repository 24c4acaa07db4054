//! Pub/Sub: channels, patterns, and delivery that never waits for a subscriber.
//!
//! Each subscribed connection has a [`Mailbox`]. `PUBLISH` takes the registry's read lock,
//! appends the message to the mailbox of every subscriber of the channel and of every
//! matching pattern (a short mutex each), wakes them, and returns: a publisher never waits
//! for a subscriber's socket. The subscriber's connection drains its mailbox into its output
//! and writes it at its own pace.
//!
//! A subscriber that does not keep up is disconnected at its output limit
//! (`client-output-buffer-limit pubsub <hard> <soft> <seconds>`, Redis's default
//! `32mb 8mb 60`): as soon as undelivered messages pass the hard limit, or when they have
//! stayed above the soft limit for that many seconds. Memory per slow subscriber is bounded.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use vole_engine::glob::GlobPattern;
use vole_engine::resp::{self, Proto};
use vole_engine::Reply;

use crate::server::ClientInfo;

/// One delivered message, encoded once per protocol when published and shared by every
/// receiver (cloning `Bytes` only bumps a reference count).
#[derive(Debug, Clone)]
pub struct Msg {
    resp2: Bytes,
    resp3: Bytes,
}

impl Msg {
    /// `<head> channel payload` (`message`, `smessage`), or `pmessage pattern channel
    /// payload` when `pattern` is given.
    fn new(head: &'static [u8], pattern: Option<&Bytes>, channel: &Bytes, payload: &Bytes) -> Msg {
        let mut items = Vec::with_capacity(4);
        items.push(Reply::Bulk(Bytes::from_static(head)));
        if let Some(p) = pattern {
            items.push(Reply::Bulk(p.clone()));
        }
        items.push(Reply::Bulk(channel.clone()));
        items.push(Reply::Bulk(payload.clone()));
        let frame = Reply::Push(items);
        let mut buf = bytes::BytesMut::new();
        resp::encode(&frame, Proto::Resp2, &mut buf);
        let resp2 = buf.split().freeze();
        resp::encode(&frame, Proto::Resp3, &mut buf);
        Msg {
            resp2,
            resp3: buf.freeze(),
        }
    }

    /// The bytes to send to a client speaking `proto`.
    pub fn bytes(&self, proto: Proto) -> &[u8] {
        match proto {
            Proto::Resp3 => &self.resp3,
            _ => &self.resp2,
        }
    }

    /// Bytes it occupies until delivered.
    fn cost(&self) -> usize {
        self.resp3.len()
    }
}

/// Output limits of pub/sub clients: (hard bytes, soft bytes, soft seconds); 0 = no limit.
#[derive(Debug, Default)]
pub struct Limits {
    hard: AtomicU64,
    soft: AtomicU64,
    soft_secs: AtomicU64,
}

impl Limits {
    /// Sets the limits (CONFIG SET client-output-buffer-limit).
    pub fn set(&self, hard: u64, soft: u64, soft_secs: u64) {
        self.hard.store(hard, Ordering::Relaxed);
        self.soft.store(soft, Ordering::Relaxed);
        self.soft_secs.store(soft_secs, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Queue {
    msgs: VecDeque<Msg>,
    bytes: usize,
    soft_since: Option<Instant>,
    closed: bool,
}

/// A subscriber's undelivered messages.
pub struct Mailbox {
    info: Arc<ClientInfo>,
    queue: Mutex<Queue>,
    /// Woken when messages arrive.
    pub notify: Notify,
}

impl Mailbox {
    /// A mailbox for the connection `info`.
    pub fn new(info: Arc<ClientInfo>) -> Arc<Mailbox> {
        Arc::new(Mailbox {
            info,
            queue: Mutex::new(Queue::default()),
            notify: Notify::new(),
        })
    }

    fn push(&self, msg: Msg, limits: &Limits) {
        let mut q = self.queue.lock();
        if q.closed {
            return;
        }
        q.bytes += msg.cost();
        q.msgs.push_back(msg);
        let hard = limits.hard.load(Ordering::Relaxed) as usize;
        let soft = limits.soft.load(Ordering::Relaxed) as usize;
        let over_hard = hard > 0 && q.bytes > hard;
        let over_soft = if soft > 0 && q.bytes > soft {
            let since = *q.soft_since.get_or_insert_with(Instant::now);
            since.elapsed().as_secs() >= limits.soft_secs.load(Ordering::Relaxed)
        } else {
            q.soft_since = None;
            false
        };
        if over_hard || over_soft {
            tracing::warn!(
                client = self.info.id,
                addr = %self.info.addr,
                pending_bytes = q.bytes,
                "closing pub/sub client that reached client-output-buffer-limit pubsub"
            );
            q.closed = true;
            q.msgs.clear();
            q.bytes = 0;
            drop(q);
            self.info.killed.store(true, Ordering::Relaxed);
            self.info.kill.notify_one();
            return;
        }
        drop(q);
        self.notify.notify_one();
    }

    /// Takes up to about `max_bytes` of messages, oldest first.
    pub fn take(&self, max_bytes: usize) -> Vec<Msg> {
        let mut q = self.queue.lock();
        let mut out = Vec::new();
        let mut taken = 0;
        while taken < max_bytes {
            let Some(m) = q.msgs.pop_front() else { break };
            taken += m.cost();
            out.push(m);
        }
        q.bytes = q.bytes.saturating_sub(taken);
        if q.msgs.is_empty() {
            q.soft_since = None;
        }
        out
    }

    /// Whether messages are waiting.
    pub fn has_pending(&self) -> bool {
        !self.queue.lock().msgs.is_empty()
    }
}

struct Pattern {
    glob: GlobPattern,
    subs: Vec<Arc<Mailbox>>,
}

/// The registry of channels and patterns.
#[derive(Default)]
pub struct PubSub {
    channels: RwLock<HashMap<Bytes, Vec<Arc<Mailbox>>>>,
    patterns: RwLock<HashMap<Bytes, Pattern>>,
    /// Shard channels (SSUBSCRIBE / SPUBLISH): a namespace of their own, as in Redis 7.
    shard: RwLock<HashMap<Bytes, Vec<Arc<Mailbox>>>>,
    /// Number of patterns, so PUBLISH skips the pattern table when there are none.
    npatterns: AtomicUsize,
    /// Subscriptions (channel or pattern) that may hear keyspace notifications.
    key_listeners: AtomicUsize,
    /// Output limits of subscribers.
    pub limits: Limits,
}

fn add(list: &mut Vec<Arc<Mailbox>>, mb: &Arc<Mailbox>) -> bool {
    if list.iter().any(|x| Arc::ptr_eq(x, mb)) {
        return false;
    }
    list.push(mb.clone());
    true
}

impl PubSub {
    fn note_listener(&self, name: &[u8], pattern: bool, added: bool) {
        if crate::notify::may_hear_key_events(name, pattern) {
            if added {
                self.key_listeners.fetch_add(1, Ordering::Relaxed);
            } else {
                self.key_listeners.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Whether some subscription may hear keyspace notifications.
    pub fn wants_key_events(&self) -> bool {
        self.key_listeners.load(Ordering::Relaxed) > 0
    }

    /// Subscribes `mb` to `channel`; false when it already was.
    pub fn subscribe(&self, mb: &Arc<Mailbox>, channel: &Bytes) -> bool {
        let added = add(
            self.channels.write().entry(channel.clone()).or_default(),
            mb,
        );
        if added {
            self.note_listener(channel, false, true);
        }
        added
    }

    /// Unsubscribes `mb` from `channel`.
    pub fn unsubscribe(&self, mb: &Arc<Mailbox>, channel: &[u8]) {
        let mut map = self.channels.write();
        if let Some(list) = map.get_mut(channel) {
            let before = list.len();
            list.retain(|x| !Arc::ptr_eq(x, mb));
            if list.len() < before {
                self.note_listener(channel, false, false);
            }
            if list.is_empty() {
                map.remove(channel);
            }
        }
    }

    /// Subscribes `mb` to `pattern`; false when it already was.
    pub fn psubscribe(&self, mb: &Arc<Mailbox>, pattern: &Bytes) -> bool {
        let mut map = self.patterns.write();
        let p = map.entry(pattern.clone()).or_insert_with(|| Pattern {
            glob: GlobPattern::new(pattern, false),
            subs: Vec::new(),
        });
        let added = add(&mut p.subs, mb);
        self.npatterns.store(map.len(), Ordering::Relaxed);
        if added {
            self.note_listener(pattern, true, true);
        }
        added
    }

    /// Unsubscribes `mb` from `pattern`.
    pub fn punsubscribe(&self, mb: &Arc<Mailbox>, pattern: &[u8]) {
        let mut map = self.patterns.write();
        if let Some(p) = map.get_mut(pattern) {
            let before = p.subs.len();
            p.subs.retain(|x| !Arc::ptr_eq(x, mb));
            if p.subs.len() < before {
                self.note_listener(pattern, true, false);
            }
            if p.subs.is_empty() {
                map.remove(pattern);
            }
        }
        self.npatterns.store(map.len(), Ordering::Relaxed);
    }

    /// Delivers `payload` on `channel`; returns the number of receivers (channel subscribers
    /// plus pattern matches, as Redis counts them).
    pub fn publish(&self, channel: &Bytes, payload: &Bytes) -> usize {
        let mut n = 0;
        if let Some(list) = self.channels.read().get(channel) {
            let msg = Msg::new(b"message", None, channel, payload);
            for mb in list {
                mb.push(msg.clone(), &self.limits);
            }
            n += list.len();
        }
        if self.npatterns.load(Ordering::Relaxed) > 0 {
            for (pat, p) in self.patterns.read().iter() {
                if !p.glob.matches(channel) {
                    continue;
                }
                let msg = Msg::new(b"pmessage", Some(pat), channel, payload);
                for mb in &p.subs {
                    mb.push(msg.clone(), &self.limits);
                }
                n += p.subs.len();
            }
        }
        n
    }

    /// Whether anyone listens on `channel` (directly or by pattern): lets keyspace
    /// notifications skip building messages nobody receives.
    pub fn has_listeners(&self, channel: &[u8]) -> bool {
        if self.channels.read().contains_key(channel) {
            return true;
        }
        self.npatterns.load(Ordering::Relaxed) > 0
            && self
                .patterns
                .read()
                .values()
                .any(|p| p.glob.matches(channel))
    }

    /// Whether any channel or pattern has a subscriber.
    pub fn is_idle(&self) -> bool {
        self.npatterns.load(Ordering::Relaxed) == 0 && self.channels.read().is_empty()
    }

    fn map(&self, shard: bool) -> &RwLock<HashMap<Bytes, Vec<Arc<Mailbox>>>> {
        if shard {
            &self.shard
        } else {
            &self.channels
        }
    }

    /// PUBSUB CHANNELS / SHARDCHANNELS [pattern]: channels with at least one subscriber.
    pub fn channels(&self, shard: bool, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let glob = pattern.map(|p| GlobPattern::new(p, false));
        self.map(shard)
            .read()
            .keys()
            .filter(|c| glob.as_ref().is_none_or(|g| g.matches(c)))
            .cloned()
            .collect()
    }

    /// Number of subscribers of `channel` (patterns not counted, as in Redis).
    pub fn numsub(&self, shard: bool, channel: &[u8]) -> usize {
        self.map(shard).read().get(channel).map_or(0, Vec::len)
    }

    /// Number of distinct patterns subscribed to.
    pub fn numpat(&self) -> usize {
        self.npatterns.load(Ordering::Relaxed)
    }

    /// Number of channels with subscribers.
    pub fn nchannels(&self) -> usize {
        self.channels.read().len()
    }

    /// Subscribes `mb` to shard channel `channel`; false when it already was.
    pub fn ssubscribe(&self, mb: &Arc<Mailbox>, channel: &Bytes) -> bool {
        add(self.shard.write().entry(channel.clone()).or_default(), mb)
    }

    /// Unsubscribes `mb` from shard channel `channel`.
    pub fn sunsubscribe(&self, mb: &Arc<Mailbox>, channel: &[u8]) {
        let mut map = self.shard.write();
        if let Some(list) = map.get_mut(channel) {
            list.retain(|x| !Arc::ptr_eq(x, mb));
            if list.is_empty() {
                map.remove(channel);
            }
        }
    }

    /// SPUBLISH: delivers to the shard channel's subscribers (patterns never see these).
    pub fn spublish(&self, channel: &Bytes, payload: &Bytes) -> usize {
        let map = self.shard.read();
        let Some(list) = map.get(channel) else {
            return 0;
        };
        let msg = Msg::new(b"smessage", None, channel, payload);
        for mb in list {
            mb.push(msg.clone(), &self.limits);
        }
        list.len()
    }
}

// ---- commands ------------------------------------------------------------------------------

use crate::conn::Session;
use vole_engine::cmd::is;
use vole_engine::CmdError;

/// A connection's subscriptions.
#[derive(Default)]
pub struct Subscriptions {
    /// Created on the first subscription, kept for the life of the connection.
    pub mailbox: Option<Arc<Mailbox>>,
    channels: Vec<Bytes>,
    patterns: Vec<Bytes>,
    shard: Vec<Bytes>,
}

impl Subscriptions {
    /// Every subscription: a RESP2 client with any is in subscriber mode.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard.len()
    }

    fn list(&mut self, kind: Kind) -> &mut Vec<Bytes> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// The count a confirmation carries: shard channels count apart, as in Redis.
    fn confirm_count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shard.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }
}

/// What a (un)subscription names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE / UNSUBSCRIBE.
    Channel,
    /// PSUBSCRIBE / PUNSUBSCRIBE.
    Pattern,
    /// SSUBSCRIBE / SUNSUBSCRIBE.
    Shard,
}

impl Kind {
    fn heads(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Kind::Channel => (b"subscribe", b"unsubscribe"),
            Kind::Pattern => (b"psubscribe", b"punsubscribe"),
            Kind::Shard => (b"ssubscribe", b"sunsubscribe"),
        }
    }
}

fn confirm(kind: &'static [u8], name: Option<&Bytes>, count: usize) -> Reply {
    Reply::Push(vec![
        Reply::Bulk(Bytes::from_static(kind)),
        name.map_or(Reply::Nil, |n| Reply::Bulk(n.clone())),
        Reply::Int(count as i64),
    ])
}

fn note_counts(s: &Session) {
    s.info.subs.store(s.subs.channels.len(), Ordering::Relaxed);
    s.info.psubs.store(s.subs.patterns.len(), Ordering::Relaxed);
    s.info.ssubs.store(s.subs.shard.len(), Ordering::Relaxed);
    s.server
        .ks
        .set_key_events(s.server.pubsub.wants_key_events());
}

fn register(ps: &PubSub, mb: &Arc<Mailbox>, kind: Kind, name: &Bytes) {
    match kind {
        Kind::Channel => {
            ps.subscribe(mb, name);
        }
        Kind::Pattern => {
            ps.psubscribe(mb, name);
        }
        Kind::Shard => {
            ps.ssubscribe(mb, name);
        }
    }
}

fn unregister(ps: &PubSub, mb: &Arc<Mailbox>, kind: Kind, name: &[u8]) {
    match kind {
        Kind::Channel => ps.unsubscribe(mb, name),
        Kind::Pattern => ps.punsubscribe(mb, name),
        Kind::Shard => ps.sunsubscribe(mb, name),
    }
}

/// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: one confirmation per name.
pub fn subscribe(s: &mut Session, args: &[Bytes], kind: Kind) -> Reply {
    let info = s.info.clone();
    let mb = s
        .subs
        .mailbox
        .get_or_insert_with(|| Mailbox::new(info))
        .clone();
    let mut frames = Vec::with_capacity(args.len() - 1);
    for name in &args[1..] {
        let list = s.subs.list(kind);
        if !list.contains(name) {
            list.push(name.clone());
            register(&s.server.pubsub, &mb, kind, name);
        }
        frames.push(confirm(
            kind.heads().0,
            Some(name),
            s.subs.confirm_count(kind),
        ));
    }
    note_counts(s);
    Reply::Frames(frames)
}

/// UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE: the named ones, or all when none is named.
pub fn unsubscribe(s: &mut Session, args: &[Bytes], kind: Kind) -> Reply {
    let head = kind.heads().1;
    let names: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        s.subs.list(kind).clone()
    };
    if names.is_empty() {
        return Reply::Frames(vec![confirm(head, None, s.subs.confirm_count(kind))]);
    }
    let mut frames = Vec::with_capacity(names.len());
    for name in &names {
        let list = s.subs.list(kind);
        if let Some(at) = list.iter().position(|c| c == name) {
            list.remove(at);
            if let Some(mb) = &s.subs.mailbox {
                unregister(&s.server.pubsub, mb, kind, name);
            }
        }
        frames.push(confirm(head, Some(name), s.subs.confirm_count(kind)));
    }
    note_counts(s);
    Reply::Frames(frames)
}

/// Drops every subscription (RESET, disconnect).
pub fn forget(s: &mut Session) {
    if let Some(mb) = s.subs.mailbox.take() {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in std::mem::take(s.subs.list(kind)) {
                unregister(&s.server.pubsub, &mb, kind, &name);
            }
        }
    }
    note_counts(s);
}

/// SPUBLISH shardchannel message.
pub fn spublish(s: &mut Session, args: &[Bytes]) -> Reply {
    Reply::Int(s.server.pubsub.spublish(&args[1], &args[2]) as i64)
}

/// PUBLISH channel message.
pub fn publish(s: &mut Session, args: &[Bytes]) -> Reply {
    Reply::Int(s.server.pubsub.publish(&args[1], &args[2]) as i64)
}

/// PUBSUB CHANNELS | NUMSUB | NUMPAT | HELP.
pub fn pubsub(s: &mut Session, args: &[Bytes]) -> Result<Reply, CmdError> {
    let ps = &s.server.pubsub;
    let sub = &args[1];
    let shard = is(sub, "shardchannels") || is(sub, "shardnumsub");
    if is(sub, "channels") || is(sub, "shardchannels") {
        if args.len() > 3 {
            let name = String::from_utf8_lossy(sub).to_lowercase();
            return Err(CmdError::WrongArity(format!("pubsub|{name}")));
        }
        let list = ps.channels(shard, args.get(2).map(|b| &b[..]));
        return Ok(Reply::Array(list.into_iter().map(Reply::Bulk).collect()));
    }
    if is(sub, "numsub") || is(sub, "shardnumsub") {
        // A flat array in RESP3 too, as Redis sends it.
        let mut out = Vec::with_capacity(2 * (args.len() - 2));
        for c in &args[2..] {
            out.push(Reply::Bulk(c.clone()));
            out.push(Reply::Int(ps.numsub(shard, c) as i64));
        }
        return Ok(Reply::Array(out));
    }
    if is(sub, "numpat") {
        if args.len() != 2 {
            return Err(CmdError::WrongArity("pubsub|numpat".into()));
        }
        return Ok(Reply::Int(ps.numpat() as i64));
    }
    Ok(vole_engine::cmd::keys::help_reply(&[
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Print this help.",
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: u64) -> Arc<ClientInfo> {
        let addr = "127.0.0.1:1".parse().expect("addr");
        ClientInfo::new(id, addr, addr)
    }

    #[test]
    fn publish_reaches_channel_and_pattern_subscribers() {
        let ps = PubSub::default();
        let a = Mailbox::new(info(1));
        let b = Mailbox::new(info(2));
        assert!(ps.subscribe(&a, &Bytes::from_static(b"news")));
        assert!(!ps.subscribe(&a, &Bytes::from_static(b"news")));
        assert!(ps.psubscribe(&b, &Bytes::from_static(b"n*")));
        assert!(ps.psubscribe(&a, &Bytes::from_static(b"x*")));
        assert_eq!(
            ps.publish(&Bytes::from_static(b"news"), &Bytes::from_static(b"hi")),
            2
        );
        assert_eq!(a.take(usize::MAX).len(), 1);
        let got = b.take(usize::MAX);
        assert_eq!(got.len(), 1);
        assert!(got[0]
            .bytes(Proto::Resp2)
            .starts_with(b"*4\r\n$8\r\npmessage"));
        assert!(got[0].bytes(Proto::Resp3).starts_with(b">4\r\n"));
        assert_eq!(ps.numsub(false, b"news"), 1);
        assert_eq!(ps.numpat(), 2);
        ps.unsubscribe(&a, b"news");
        ps.punsubscribe(&b, b"n*");
        ps.punsubscribe(&a, b"x*");
        assert!(ps.is_idle());
    }

    #[test]
    fn a_subscriber_over_the_hard_limit_is_closed_and_costs_nothing_more() {
        let ps = PubSub::default();
        ps.limits.set(1000, 0, 0);
        let i = info(1);
        let a = Mailbox::new(i.clone());
        ps.subscribe(&a, &Bytes::from_static(b"c"));
        let payload = Bytes::from(vec![b'x'; 100]);
        for _ in 0..20 {
            ps.publish(&Bytes::from_static(b"c"), &payload);
        }
        assert!(i.killed.load(Ordering::Relaxed));
        assert!(!a.has_pending(), "a closed mailbox keeps nothing");
    }
}
