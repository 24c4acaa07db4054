//! `--pipe`: mass insertion of raw RESP from stdin, as redis-cli does it.
//!
//! Stdin goes to the server unchanged while the replies are read and counted at the same
//! time (a writer thread on a clone of the socket; over TLS, which cannot be split, the two
//! alternate). After stdin ends, an `ECHO` of a random 20-byte marker follows; its reply is
//! the last one, so when it arrives every reply has. Error replies are printed to stderr.
//! The exit code is 1 when any reply was an error, or when no reply came for `timeout`.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rand::distributions::Alphanumeric;
use rand::Rng;
use vole_engine::resp::encode_command;

use super::conn::ReadError;
use super::reply::Reply;
use super::Session;

/// Length of the end marker, as in redis-cli.
const MARKER_BYTES: usize = 20;
const STDIN_CHUNK_BYTES: usize = 64 * 1024;

/// Runs `--pipe`; the exit code.
pub fn run(s: &mut Session, timeout: Duration) -> i32 {
    if !s.connect() {
        return 1;
    }
    let Some(mut conn) = s.conn.take() else {
        return 1;
    };
    let marker: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(MARKER_BYTES)
        .map(char::from)
        .collect();
    let mut echo = BytesMut::new();
    encode_command(&[b"ECHO".as_slice(), marker.as_bytes()], &mut echo);
    let sent_all = Arc::new(AtomicBool::new(false));
    let write_failed = Arc::new(AtomicBool::new(false));
    let writer = conn.try_clone_tcp().map(|mut tcp| {
        let sent_all = sent_all.clone();
        let write_failed = write_failed.clone();
        let echo = echo.clone();
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut chunk = vec![0u8; STDIN_CHUNK_BYTES];
            loop {
                match stdin.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tcp.write_all(&chunk[..n]).is_err() {
                            write_failed.store(true, Ordering::Relaxed);
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            if tcp.write_all(&echo).is_err() {
                write_failed.store(true, Ordering::Relaxed);
                return;
            }
            sent_all.store(true, Ordering::Relaxed);
        })
    });
    let mut stdin_done = writer.is_some();
    let mut errors: u64 = 0;
    let mut replies: u64 = 0;
    let mut announced = false;
    let mut last_reply = Instant::now();
    let code = loop {
        if writer.is_none() && !stdin_done {
            // TLS: no second handle on the stream, so write a chunk, then read what is there.
            let mut chunk = vec![0u8; STDIN_CHUNK_BYTES];
            match std::io::stdin().lock().read(&mut chunk) {
                Ok(0) | Err(_) => {
                    stdin_done = true;
                    if conn.send_raw(&echo).is_err() {
                        break fail("Error writing to the server");
                    }
                    sent_all.store(true, Ordering::Relaxed);
                }
                Ok(n) => {
                    if conn.send_raw(&chunk[..n]).is_err() {
                        break fail("Error writing to the server");
                    }
                }
            }
        }
        if write_failed.load(Ordering::Relaxed) {
            break fail("Error writing to the server");
        }
        if sent_all.load(Ordering::Relaxed) && !announced {
            announced = true;
            println!("All data transferred. Waiting for the last reply...");
            last_reply = Instant::now();
        }
        let slice = if writer.is_none() && !stdin_done {
            Duration::ZERO
        } else {
            super::conn::POLL
        };
        match conn.read_for(None, slice) {
            Ok(Some(r)) => {
                last_reply = Instant::now();
                if let Reply::Bulk(b) = &r {
                    if b.as_ref() == marker.as_bytes() {
                        if !announced {
                            println!("All data transferred. Waiting for the last reply...");
                        }
                        println!("Last reply received from server.");
                        println!("errors: {errors}, replies: {replies}");
                        break i32::from(errors > 0);
                    }
                }
                if let Reply::Error(e) = &r {
                    errors += 1;
                    eprintln!("{}", String::from_utf8_lossy(e));
                }
                replies += 1;
            }
            Ok(None) => {
                if announced && timeout > Duration::ZERO && last_reply.elapsed() >= timeout {
                    println!("No replies for {} seconds: exiting.", timeout.as_secs());
                    println!("errors: {errors}, replies: {replies}");
                    break 1;
                }
            }
            Err(ReadError::Closed) => break fail("Server closed the connection"),
            Err(e) => break fail(&format!("Error reading from the server: {e}")),
        }
    };
    if let Some(w) = writer {
        if code != 0 && !sent_all.load(Ordering::Relaxed) {
            // The writer may still block on stdin; the process is exiting anyway.
            let _ = conn.tcp().shutdown(std::net::Shutdown::Both);
        } else {
            let _ = w.join();
        }
    }
    code
}

fn fail(msg: &str) -> i32 {
    eprintln!("{msg}");
    1
}
