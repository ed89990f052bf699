//! `wasi:sockets/ip-name-lookup`: `resolve-addresses` never blocks, as the
//! WIT requires: an IP address string is answered at once, and a name is
//! resolved by the host's resolver (`getaddrinfo`, through `std::net`) on a
//! thread of its own, which hangs up one end of a socket pair when done so
//! that the stream's pollable is an ordinary descriptor for `poll(2)`.
//!
//! At most 64 lookups run at once in the process; more are
//! `temporary-resolver-failure` until one finishes.
//!
//! Names are checked before anything is looked up: ASCII letters, digits,
//! `-`, `_` and `.`, at most 253 bytes (`invalid-argument` otherwise;
//! Unicode names are refused rather than converted with IDNA, which Tern
//! does not implement). Results are in the resolver's order, without
//! duplicates, and IPv4-mapped IPv6 addresses come back as IPv4.

use super::NetworkHandle;
use crate::p2::bindings::wasi::sockets::ip_name_lookup::{
    self, ErrorCode, IpAddress, Network, Pollable, ResolveAddressStream,
};
use crate::p2::error::{socket_error_to_wit, SocketError};
use crate::p2::poll::Poll;
use crate::p2::{cast, WasiView};
use rustix::event::PollFlags;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv6Addr, ToSocketAddrs};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Arc;
use tern::component::Resource;

/// The most lookups in flight at once in the whole process: a guest cannot
/// make the host start threads without end (more is
/// `temporary-resolver-failure` until some finish).
const MAX_IN_FLIGHT: usize = 64;

/// Lookups in flight (their threads running).
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// The answer of one lookup.
type Answer = Result<VecDeque<IpAddr>, ErrorCode>;

/// A `resolve-address-stream`'s table entry.
pub(crate) struct Lookup {
    /// The answer, once it came.
    answer: Option<Answer>,
    /// Where the resolver thread sends it.
    pending: Option<Receiver<Answer>>,
    /// Readable (hung up) once the thread is done.
    done: Option<Arc<OwnedFd>>,
}

/// Whether `name` is a host name Tern passes to the resolver.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !name.split('.').any(|label| label.len() > 63)
}

/// The addresses in the order given, without duplicates, IPv4-mapped ones
/// as IPv4.
fn answer(addrs: impl Iterator<Item = IpAddr>) -> Answer {
    let mut out = VecDeque::new();
    for a in addrs {
        let a = match a {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
            v4 => v4,
        };
        if !out.contains(&a) {
            out.push_back(a);
        }
    }
    if out.is_empty() {
        return Err(ErrorCode::NameUnresolvable);
    }
    Ok(out)
}

/// Resolves `name` with the host's resolver (blocking).
fn resolve(name: &str) -> Answer {
    match (name, 0).to_socket_addrs() {
        Ok(addrs) => answer(addrs.map(|a| a.ip())),
        // `getaddrinfo`'s own errors carry no `errno`; only its message
        // tells a temporary failure (`EAI_AGAIN`) from the rest.
        Err(e) if e.to_string().contains("Temporary failure") => {
            Err(ErrorCode::TemporaryResolverFailure)
        }
        Err(_) => Err(ErrorCode::NameUnresolvable),
    }
}

impl<T: WasiView> ip_name_lookup::Host for T {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> Result<Resource<ResolveAddressStream>, SocketError> {
        self.table().get::<NetworkHandle>(&cast(&network))?;
        if !self.ctx().state_mut()?.network.ip_name_lookup {
            return Err(ErrorCode::PermanentResolverFailure.into());
        }
        let literal = name.parse::<IpAddr>().ok().or_else(|| {
            let inner = name.strip_prefix('[')?.strip_suffix(']')?;
            inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        });
        let lookup = if let Some(ip) = literal {
            Lookup {
                answer: Some(answer(std::iter::once(ip))),
                pending: None,
                done: None,
            }
        } else {
            if !valid_name(&name) {
                return Err(ErrorCode::InvalidArgument.into());
            }
            let (tx, rx) = mpsc::channel();
            let (ours, theirs) = UnixStream::pair()?;
            if IN_FLIGHT.fetch_add(1, Ordering::SeqCst) >= MAX_IN_FLIGHT {
                IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
                return Err(ErrorCode::TemporaryResolverFailure.into());
            }
            let spawned = std::thread::Builder::new()
                .name("tern-wasi-lookup".into())
                .spawn(move || {
                    // The guest may have dropped the stream: nobody listens.
                    let _ = tx.send(resolve(&name));
                    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
                    drop(theirs);
                });
            if let Err(e) = spawned {
                IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
                return Err(e.into());
            }
            Lookup {
                answer: None,
                pending: Some(rx),
                done: Some(Arc::new(OwnedFd::from(ours))),
            }
        };
        Ok(cast(&self.table().push(lookup)?))
    }

    fn convert_error_code(&mut self, err: SocketError) -> tern::Result<ErrorCode> {
        socket_error_to_wit(err)
    }
}

impl<T: WasiView> ip_name_lookup::HostResolveAddressStream for T {
    fn resolve_next_address(
        &mut self,
        s: Resource<ResolveAddressStream>,
    ) -> Result<Option<IpAddress>, SocketError> {
        let lookup = self.table().get_mut::<Lookup>(&cast(&s))?;
        if lookup.answer.is_none() {
            let Some(rx) = &lookup.pending else {
                return Err(ErrorCode::Unknown.into());
            };
            lookup.answer = Some(match rx.try_recv() {
                Ok(a) => a,
                Err(TryRecvError::Empty) => return Err(ErrorCode::WouldBlock.into()),
                Err(TryRecvError::Disconnected) => Err(ErrorCode::Unknown),
            });
            lookup.pending = None;
        }
        match &mut lookup.answer {
            Some(Ok(addrs)) => Ok(addrs.pop_front().map(super::ip_from_std)),
            Some(Err(code)) => Err((*code).into()),
            None => Err(ErrorCode::Unknown.into()),
        }
    }

    fn subscribe(&mut self, s: Resource<ResolveAddressStream>) -> tern::Result<Resource<Pollable>> {
        let lookup = self.table().get::<Lookup>(&cast(&s))?;
        let poll = match (&lookup.answer, &lookup.done) {
            (None, Some(fd)) => Poll::Fd {
                fd: fd.clone(),
                events: PollFlags::IN,
            },
            _ => Poll::Ready,
        };
        Ok(cast(&self.table().push_child(poll, &s)?))
    }

    fn convert_error_code(&mut self, err: SocketError) -> tern::Result<ErrorCode> {
        socket_error_to_wit(err)
    }

    fn drop(&mut self, s: Resource<ResolveAddressStream>) -> tern::Result<()> {
        self.table().delete::<Lookup>(cast(&s))?;
        Ok(())
    }
}
