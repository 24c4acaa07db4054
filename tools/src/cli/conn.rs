//! One connection to the server: TCP or TLS (rustls over a blocking `TcpStream`), the RESP
//! codec from the engine, and the handshake (AUTH, HELLO 3, SELECT) redis-cli does.
//!
//! Reads wait in short slices ([`POLL`]) so that Ctrl-C (an [`Interrupt`] flag set by the
//! signal handler) can stop a blocked read, as redis-cli stops MONITOR or SUBSCRIBE output.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use vole_engine::resp::{encode_command, parse_value_texts, Limits};

use super::args::Target;
use super::reply::Reply;

/// How long one read waits before looking at the interrupt flag.
pub const POLL: Duration = Duration::from_millis(50);
/// Longest a connection attempt may take per address.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Set by the SIGINT handler; cleared by whoever handles it.
pub type Interrupt = Arc<AtomicBool>;

/// The byte stream under the codec.
pub enum Stream {
    Tcp(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Tcp(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Why a reply could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The server closed the connection.
    Closed,
    Io(io::Error),
    /// The server sent bytes that are not RESP.
    Protocol(String),
    /// Ctrl-C.
    Interrupted,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Closed => f.write_str("Server closed the connection"),
            ReadError::Io(e) => f.write_str(&io_text(e)),
            ReadError::Protocol(e) => write!(f, "Protocol error, {e}"),
            ReadError::Interrupted => f.write_str("Interrupted"),
        }
    }
}

/// An I/O error as C's `strerror` words it (`Connection refused`), without Rust's
/// ` (os error 111)` suffix, so messages read like redis-cli's.
pub fn io_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// An open connection.
pub struct Conn {
    pub stream: Stream,
    buf: BytesMut,
    limits: Limits,
}

impl Conn {
    /// Connects (and for TLS, handshakes). The error is the one-line reason.
    pub fn open(t: &Target) -> Result<Conn, String> {
        let addrs = (t.host.as_str(), t.port)
            .to_socket_addrs()
            .map_err(|e| io_text(&e))?;
        let mut last = String::from("no address");
        let mut tcp = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = io_text(&e),
            }
        }
        let tcp = tcp.ok_or(last)?;
        let _ = tcp.set_nodelay(true);
        tcp.set_read_timeout(Some(POLL)).map_err(|e| io_text(&e))?;
        let stream = if t.tls {
            let config = tls_config(t)?;
            let name = t.sni.clone().unwrap_or_else(|| t.host.clone());
            let name = ServerName::try_from(name).map_err(|e| format!("Invalid TLS name: {e}"))?;
            let client = rustls::ClientConnection::new(Arc::new(config), name)
                .map_err(|e| format!("TLS error: {e}"))?;
            let mut s = rustls::StreamOwned::new(client, tcp);
            // Finish the handshake now so a bad certificate fails the connect, not the first
            // command.
            while s.conn.is_handshaking() {
                match s.conn.complete_io(&mut s.sock) {
                    Ok(_) => {}
                    Err(e) if is_timeout(&e) => {}
                    Err(e) => return Err(tls_error_text(&e)),
                }
            }
            Stream::Tls(Box::new(s))
        } else {
            Stream::Tcp(tcp)
        };
        Ok(Conn {
            stream,
            buf: BytesMut::with_capacity(READ_CHUNK_BYTES),
            limits: Limits::default(),
        })
    }

    /// Sends one command.
    pub fn send(&mut self, args: &[Bytes]) -> io::Result<()> {
        let mut out = BytesMut::new();
        encode_command(args, &mut out);
        self.stream.write_all(&out)?;
        self.stream.flush()
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Reads one reply, waiting as long as it takes unless `interrupt` is set.
    pub fn read(&mut self, interrupt: Option<&AtomicBool>) -> Result<Reply, ReadError> {
        self.read_within(interrupt, None)
    }

    /// Reads one reply; `Ok(None)` when `limit` passes first.
    pub fn read_for(
        &mut self,
        interrupt: Option<&AtomicBool>,
        limit: Duration,
    ) -> Result<Option<Reply>, ReadError> {
        match self.read_within(interrupt, Some(std::time::Instant::now() + limit)) {
            Ok(r) => Ok(Some(r)),
            Err(ReadError::Io(e)) if is_timeout(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn read_within(
        &mut self,
        interrupt: Option<&AtomicBool>,
        deadline: Option<std::time::Instant>,
    ) -> Result<Reply, ReadError> {
        loop {
            match parse_value_texts(&self.buf, &self.limits) {
                Ok(Some((v, n, doubles))) => {
                    let _ = self.buf.split_to(n);
                    return Ok(Reply::from_value(v, doubles));
                }
                Ok(None) => {}
                Err(e) => return Err(ReadError::Protocol(e.to_string())),
            }
            if interrupt.is_some_and(|i| i.load(Ordering::Relaxed)) {
                return Err(ReadError::Interrupted);
            }
            let mut chunk = [0u8; READ_CHUNK_BYTES];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(ReadError::Closed),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                    if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                        return Err(ReadError::Io(e));
                    }
                }
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
    }

    /// Sends a command and reads its reply (no interrupt).
    pub fn call(&mut self, args: &[&[u8]]) -> Result<Reply, ReadError> {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        self.send(&args).map_err(ReadError::Io)?;
        self.read(None)
    }

    /// Whether the socket can be split for a writer thread (plain TCP).
    pub fn try_clone_tcp(&self) -> Option<TcpStream> {
        match &self.stream {
            Stream::Tcp(s) => s.try_clone().ok(),
            Stream::Tls(_) => None,
        }
    }

    /// The local TCP socket (to shut it down).
    pub fn tcp(&self) -> &TcpStream {
        self.stream.tcp()
    }
}

/// Whether an I/O error is a read timeout (the poll slice passing).
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn tls_error_text(e: &io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(t) => format!("TLS handshake failed: {t}"),
        None => io_text(e),
    }
}

/// The rustls client configuration for `t`: roots from --cacert (else the Mozilla set from
/// webpki-roots), optional client certificate, or no verification with --insecure.
fn tls_config(t: &Target) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS error: {e}"))?;
    let builder = if t.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        match &t.cacert {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| format!("Could not read CA file {}: {e}", path.display()))?;
                for c in certs {
                    let c = c.map_err(|e| format!("Bad CA file {}: {e}", path.display()))?;
                    roots
                        .add(c)
                        .map_err(|e| format!("Bad CA certificate in {}: {e}", path.display()))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        builder.with_root_certificates(roots)
    };
    match (&t.cert, &t.key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("Could not read certificate {}: {e}", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("Could not read key {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("TLS error: {e}"))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// `--insecure`: accepts any certificate (signatures are still checked for the handshake).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
