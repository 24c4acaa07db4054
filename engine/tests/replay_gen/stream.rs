//! Generators for stream write commands, consumer groups included.

use rand::rngs::StdRng;
use rand::Rng;

use super::key;

/// Stream write commands: adds with every ID form and trim, deletes, trims, group and
/// consumer management, deliveries, acknowledgements and claims (and some that fail).
pub fn command(rng: &mut StdRng) -> Vec<String> {
    let k = key(rng);
    let id = |rng: &mut StdRng| format!("{}-{}", rng.gen_range(0..300), rng.gen_range(0..3));
    let group = |rng: &mut StdRng| format!("g{}", rng.gen_range(0..3));
    let consumer = |rng: &mut StdRng| format!("c{}", rng.gen_range(0..3));
    let fields = |rng: &mut StdRng| -> Vec<String> {
        let mut out = Vec::new();
        // Mostly the same field names, so nodes compress them; sometimes others.
        let names: &[&str] = if rng.gen_bool(0.8) {
            &["f", "g"]
        } else {
            &["x"]
        };
        for n in names {
            out.push(n.to_string());
            out.push("v".repeat(rng.gen_range(0..400)));
        }
        out
    };
    let mut cmd: Vec<String> = match rng.gen_range(0..14) {
        0..=3 => {
            let mut c = vec!["XADD".into(), k];
            match rng.gen_range(0..6) {
                0 => c.extend([
                    "MAXLEN".into(),
                    "~".into(),
                    rng.gen_range(0..150).to_string(),
                ]),
                1 => c.extend(["MAXLEN".into(), rng.gen_range(0..150).to_string()]),
                2 => c.extend(["MINID".into(), "~".into(), id(rng)]),
                _ => {}
            }
            c.push(match rng.gen_range(0..4) {
                0 => id(rng),
                1 => format!("{}-*", rng.gen_range(0..300)),
                _ => "*".into(),
            });
            c.extend(fields(rng));
            c
        }
        4 => vec!["XDEL".into(), k, id(rng), id(rng)],
        5 => {
            let approx = if rng.gen_bool(0.5) { "~" } else { "=" };
            vec![
                "XTRIM".into(),
                k,
                "MAXLEN".into(),
                approx.into(),
                rng.gen_range(0..150).to_string(),
            ]
        }
        6 => vec![
            "XGROUP".into(),
            "CREATE".into(),
            k,
            group(rng),
            "0".into(),
            "MKSTREAM".into(),
        ],
        7 => vec!["XGROUP".into(), "SETID".into(), k, group(rng), id(rng)],
        8 => match rng.gen_range(0..3) {
            0 => vec!["XGROUP".into(), "DESTROY".into(), k, group(rng)],
            1 => vec![
                "XGROUP".into(),
                "DELCONSUMER".into(),
                k,
                group(rng),
                consumer(rng),
            ],
            _ => vec![
                "XGROUP".into(),
                "CREATECONSUMER".into(),
                k,
                group(rng),
                consumer(rng),
            ],
        },
        9 | 10 => {
            let mut c = vec![
                "XREADGROUP".into(),
                "GROUP".into(),
                group(rng),
                consumer(rng),
                "COUNT".into(),
                rng.gen_range(1..20).to_string(),
            ];
            if rng.gen_bool(0.2) {
                c.push("NOACK".into());
            }
            let from = if rng.gen_bool(0.8) {
                ">".into()
            } else {
                "0".into()
            };
            c.extend(["STREAMS".into(), k, from]);
            c
        }
        11 => vec!["XACK".into(), k, group(rng), id(rng), id(rng)],
        12 => {
            let mut c = vec![
                "XCLAIM".into(),
                k,
                group(rng),
                consumer(rng),
                rng.gen_range(0..50).to_string(),
                id(rng),
                id(rng),
            ];
            if rng.gen_bool(0.3) {
                c.push("FORCE".into());
            }
            if rng.gen_bool(0.3) {
                c.push("JUSTID".into());
            }
            c
        }
        _ => vec![
            "XAUTOCLAIM".into(),
            k,
            group(rng),
            consumer(rng),
            rng.gen_range(0..50).to_string(),
            "0".into(),
            "COUNT".into(),
            rng.gen_range(1..10).to_string(),
        ],
    };
    if rng.gen_bool(0.02) {
        cmd = vec!["XSETID".into(), key(rng), id(rng)];
    }
    cmd
}
