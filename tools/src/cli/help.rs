//! Help, hints and completion, all derived from the engine's tables: [`COMMANDS`] (what the
//! server implements) and [`PLANNED`] (seed commands whose server side is still to come).
//! A command added to either table shows up here with no change to the CLI.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use vole_engine::command::{Exec, COMMANDS};
use vole_engine::command_docs::PLANNED;

/// One command as help shows it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `GET`, `CLIENT LIST`.
    pub name: String,
    pub syntax: &'static str,
    pub summary: &'static str,
    pub since: Option<&'static str>,
    /// `string`, `sorted-set`, `multi-master`, ...
    pub group: String,
    /// In [`PLANNED`]: documented, not implemented by the server yet.
    pub planned: bool,
}

/// Group names as users type them after `@`: lower-case, `-` between words.
fn group_name(g: &str) -> String {
    g.to_ascii_lowercase().replace('_', "-")
}

/// Every command, implemented first, sorted by name within each source.
pub fn entries() -> &'static [Entry] {
    static ENTRIES: OnceLock<Vec<Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        let mut out = Vec::new();
        for c in COMMANDS {
            if !matches!(c.exec, Exec::Container) {
                out.push(Entry {
                    name: c.name.to_ascii_uppercase(),
                    syntax: c.syntax,
                    summary: c.summary,
                    since: Some(c.since),
                    group: group_name(c.group),
                    planned: false,
                });
            }
            for s in c.subcommands {
                out.push(Entry {
                    name: format!(
                        "{} {}",
                        c.name.to_ascii_uppercase(),
                        s.name.to_ascii_uppercase()
                    ),
                    syntax: s.syntax,
                    summary: s.summary,
                    since: Some(s.since),
                    group: group_name(s.group),
                    planned: false,
                });
            }
        }
        for d in PLANNED {
            out.push(Entry {
                name: d.name.to_string(),
                syntax: d.syntax,
                summary: d.summary,
                since: None,
                group: group_name(d.group),
                planned: true,
            });
        }
        out
    })
}

/// Groups and their commands, by group name.
pub fn groups() -> BTreeMap<&'static str, Vec<&'static Entry>> {
    let mut g: BTreeMap<&'static str, Vec<&'static Entry>> = BTreeMap::new();
    for e in entries() {
        g.entry(e.group.as_str()).or_default().push(e);
    }
    for list in g.values_mut() {
        list.sort_by(|a, b| a.name.cmp(&b.name));
    }
    g
}

struct Style {
    bold: &'static str,
    dim: &'static str,
    yellow: &'static str,
    reset: &'static str,
}

fn style(color: bool) -> Style {
    if color {
        Style {
            bold: "\x1b[1m",
            dim: "\x1b[90m",
            yellow: "\x1b[33m",
            reset: "\x1b[0m",
        }
    } else {
        Style {
            bold: "",
            dim: "",
            yellow: "",
            reset: "",
        }
    }
}

/// One command's help block (redis-cli's layout).
fn detail(e: &Entry, with_group: bool, st: &Style, out: &mut String) {
    out.push_str(&format!(
        "\n  {}{}{} {}{}{}\n",
        st.bold, e.name, st.reset, st.dim, e.syntax, st.reset
    ));
    out.push_str(&format!(
        "  {}summary:{} {}\n",
        st.yellow, st.reset, e.summary
    ));
    match e.since {
        Some(since) => out.push_str(&format!("  {}since:{} {}\n", st.yellow, st.reset, since)),
        None => out.push_str(&format!(
            "  {}status:{} planned (the server does not implement it yet)\n",
            st.yellow, st.reset
        )),
    }
    if with_group {
        out.push_str(&format!("  {}group:{} {}\n", st.yellow, st.reset, e.group));
    }
}

/// The text for `help [topic ...]`: the overview with every command by group, one group
/// (`@name`), or commands whose name starts with the given words.
pub fn help_text(topic: &[String], color: bool) -> String {
    let st = style(color);
    let mut out = String::new();
    if topic.is_empty() {
        out.push_str(&format!(
            "vole-cli {}\nTo get help about Vole commands type:\n      \"help @<group>\" to get a list of commands in <group>\n      \"help <command>\" for help on <command>\n      \"help <tab>\" to get a list of possible help topics\n      \"quit\" to exit\n\nCommands by group (* = planned, not implemented by the server yet):\n",
            env!("CARGO_PKG_VERSION")
        ));
        for (group, list) in groups() {
            out.push_str(&format!("\n{}@{}{}\n", st.bold, group, st.reset));
            let mut line = String::from(" ");
            for e in list {
                let word = if e.planned {
                    format!(" {}*", e.name)
                } else {
                    format!(" {}", e.name)
                };
                if line.len() + word.len() > 78 {
                    out.push_str(&line);
                    out.push('\n');
                    line = String::from(" ");
                }
                line.push_str(&word);
            }
            out.push_str(&line);
            out.push('\n');
        }
        return out;
    }
    if let Some(g) = topic[0].strip_prefix('@') {
        let want = group_name(g);
        match groups().get(want.as_str()) {
            Some(list) => {
                for e in list {
                    detail(e, false, &st, &mut out);
                }
                out.push('\n');
            }
            None => out.push_str(&format!(
                "Unknown group '{g}'. Groups: {}\n",
                groups()
                    .keys()
                    .map(|k| format!("@{k}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
        }
        return out;
    }
    let words: Vec<String> = topic.iter().map(|w| w.to_ascii_uppercase()).collect();
    let wanted = words.join(" ");
    for e in entries() {
        let exact = e.name == wanted;
        let container = e.name.starts_with(&format!("{wanted} "));
        if exact || container {
            detail(e, true, &st, &mut out);
        }
    }
    if out.is_empty() {
        out.push_str(&format!(
            "No help for '{}'. Try \"help\".\n",
            topic.join(" ")
        ));
    } else {
        out.push('\n');
    }
    out
}

/// The entry the typed words name, and how many words its name took.
fn find(words: &[&str]) -> Option<(&'static Entry, usize)> {
    let first = words.first()?.to_ascii_uppercase();
    if let Some(second) = words.get(1) {
        let two = format!("{first} {}", second.to_ascii_uppercase());
        if let Some(e) = entries().iter().find(|e| e.name == two) {
            return Some((e, 2));
        }
    }
    entries().iter().find(|e| e.name == first).map(|e| (e, 1))
}

/// Splits an argument syntax into its top-level items: `key [NX | XX] <A | B>` gives
/// `key`, `[NX | XX]`, `<A | B>`.
fn syntax_items(syntax: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut start = None;
    for (i, c) in syntax.char_indices() {
        match c {
            '[' | '<' | '(' => {
                if depth == 0 && start.is_none() {
                    start = Some(i);
                }
                depth += 1;
            }
            ']' | '>' | ')' => depth -= 1,
            ' ' if depth <= 0 => {
                if let Some(s) = start.take() {
                    items.push(&syntax[s..i]);
                }
            }
            _ => {
                if start.is_none() {
                    start = Some(i);
                }
            }
        }
    }
    if let Some(s) = start {
        items.push(&syntax[s..]);
    }
    items
}

/// The hint after the typed `line`: the arguments still to type (redis-cli's hints).
pub fn hint(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (e, used) = find(&words)?;
    let typed = words.len() - used;
    let ends_with_space = line.ends_with(' ');
    // While a word is being typed, no hint (it could be an argument or a longer name).
    if !ends_with_space && typed > 0 {
        return None;
    }
    let rest: Vec<&str> = syntax_items(e.syntax).into_iter().skip(typed).collect();
    if rest.is_empty() {
        return None;
    }
    let text = rest.join(" ");
    Some(if ends_with_space {
        text
    } else {
        format!(" {text}")
    })
}

/// Completions for the word being typed at the end of `line` (command names; after `help`,
/// also `@groups`). Upper-case unless the user typed lower-case.
pub fn complete(line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let partial = if line.ends_with(' ') || words.is_empty() {
        ""
    } else {
        words[words.len() - 1]
    };
    let before = if partial.is_empty() {
        words.len()
    } else {
        words.len() - 1
    };
    let lower = !partial.is_empty() && partial.chars().all(|c| !c.is_ascii_uppercase());
    let case = |s: &str| {
        if lower {
            s.to_ascii_lowercase()
        } else {
            s.to_string()
        }
    };
    let up = partial.to_ascii_uppercase();
    let mut out: Vec<String> = Vec::new();
    let is_help = words
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("help"));
    if before == 0 || (is_help && before == 1) {
        if is_help && before == 1 {
            for g in groups().keys() {
                let g = format!("@{g}");
                if g.to_ascii_uppercase().starts_with(&up) {
                    out.push(g);
                }
            }
        }
        let mut names: Vec<&str> = entries()
            .iter()
            .map(|e| e.name.split(' ').next().unwrap_or_default())
            .collect();
        if before == 0 {
            names.push("HELP");
        }
        names.sort_unstable();
        names.dedup();
        out.extend(names.into_iter().filter(|n| n.starts_with(&up)).map(&case));
    } else if before == 1 {
        // Subcommands of a container: `CLIENT L<tab>`.
        let first = words[0].to_ascii_uppercase();
        for e in entries() {
            if let Some(sub) = e.name.strip_prefix(&format!("{first} ")) {
                if sub.starts_with(&up) {
                    out.push(case(sub));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_planned_command_has_help_under_its_group() {
        // help @group lists the planned commands with syntax and summary.
        let text = help_text(&["@queues".to_string()], false);
        assert!(
            text.contains("\n  ENQUEUE queue message [DELAY seconds]\n"),
            "{text}"
        );
        assert!(text.contains("status: planned"), "{text}");
        for d in PLANNED {
            let g = format!("@{}", group_name(d.group));
            assert!(
                help_text(std::slice::from_ref(&g), false).contains(d.name),
                "{} not in {g}",
                d.name
            );
        }
        let all = help_text(&[], false);
        for g in [
            "replication",
            "multi-master",
            "cluster",
            "namespaces",
            "queues",
            "json",
            "rate-limiting",
            "time-series",
            "search",
            "tags",
            "schema",
            "cron",
            "audit",
            "webhooks",
            "string",
            "sorted-set",
        ] {
            assert!(all.contains(&format!("\n@{g}\n")), "group {g} missing");
        }
    }

    #[test]
    fn help_for_one_command_and_a_container() {
        // `help get` shows GET; `help client` shows every CLIENT subcommand.
        let get = help_text(&["get".to_string()], false);
        assert!(get.contains("\n  GET key\n  summary: Returns the string value of a key.\n  since: 1.0.0\n  group: string\n"), "{get}");
        let client = help_text(&["client".to_string()], false);
        assert!(client.contains("CLIENT LIST") && client.contains("CLIENT SETNAME"));
        assert!(help_text(&["nosuch".to_string()], false).starts_with("No help"));
    }

    #[test]
    fn hints_show_remaining_arguments() {
        // After the command name, the hint is the syntax; typed arguments drop off.
        assert_eq!(hint("set").as_deref(), Some(" key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]"));
        assert_eq!(hint("get ").as_deref(), Some("key"));
        assert_eq!(hint("get k "), None);
        assert_eq!(hint("get k"), None);
        assert_eq!(hint("namespace create ").as_deref(), Some("name"));
        assert_eq!(hint("nosuch "), None);
    }

    #[test]
    fn completion_of_names() {
        // First words complete to command names, in the case typed; after help, groups.
        let c = complete("hge");
        assert!(c.contains(&"hget".to_string()) && c.contains(&"hgetall".to_string()));
        assert!(complete("ENQ").contains(&"ENQUEUE".to_string()));
        assert!(complete("help @que").contains(&"@queues".to_string()));
        assert!(complete("client set").contains(&"setname".to_string()));
    }
}
