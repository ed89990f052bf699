//! `wasi:sockets/udp` and `udp-create-socket`: a UDP socket's table entry
//! (`unbound` → `bind-in-progress` → `bound`, then streaming to anyone or,
//! after `stream(some(addr))`, to one peer) and its datagram streams.
//!
//! `check-send` permits a batch of datagrams once the socket's send buffer
//! has room (0 otherwise), and `send` of more than it permitted traps, as
//! the WIT requires. A second `stream` call re-associates the socket; the
//! streams of an earlier call keep sending and receiving on the same
//! socket (the WIT allows either that or a trap).

use super::{
    buffer_size, check_family, check_network, check_remote, fail, hop_limit, local_address,
    network_allowed, new_socket, remote_address, set_buffer_size, set_hop_limit,
};
use crate::p2::bindings::wasi::sockets::udp::{
    self, ErrorCode, IncomingDatagram, IncomingDatagramStream, IpAddressFamily, IpSocketAddress,
    Network, OutgoingDatagram, OutgoingDatagramStream, Pollable, UdpSocket,
};
use crate::p2::bindings::wasi::sockets::udp_create_socket;
use crate::p2::error::{socket_error_to_wit, SocketError};
use crate::p2::poll::{fd_ready, Poll};
use crate::p2::{cast, WasiView};
use rustix::event::PollFlags;
use rustix::io::Errno;
use rustix::net::{RecvFlags, SendFlags, SocketType};
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use tern::component::Resource;

/// The most datagrams one `receive` returns and one `check-send` permits.
const BATCH: u64 = 64;
/// The largest datagram UDP carries.
const MAX_DATAGRAM: usize = 65_535;

/// Where a UDP socket is in the WIT's state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Unbound,
    BindStarted,
    Bound,
    /// Streaming to one peer (`connect`ed).
    Connected,
}

/// A `udp-socket`'s table entry.
pub(crate) struct Udp {
    fd: Arc<OwnedFd>,
    family: IpAddressFamily,
    state: State,
}

/// An `incoming-datagram-stream`'s table entry.
pub(crate) struct Incoming {
    fd: Arc<OwnedFd>,
}

/// An `outgoing-datagram-stream`'s table entry.
pub(crate) struct Outgoing {
    fd: Arc<OwnedFd>,
    family: IpAddressFamily,
    /// The peer of `stream(some(addr))`.
    remote: Option<SocketAddr>,
    /// What the last `check-send` permitted and no `send` used yet.
    permit: u64,
}

fn udp<'v, T: WasiView>(
    view: &'v mut T,
    r: &Resource<UdpSocket>,
) -> Result<&'v mut Udp, SocketError> {
    Ok(view.table().get_mut::<Udp>(&cast(r))?)
}

impl<T: WasiView> udp_create_socket::Host for T {
    fn create_udp_socket(
        &mut self,
        family: IpAddressFamily,
    ) -> Result<Resource<UdpSocket>, SocketError> {
        let fd = new_socket(family, SocketType::DGRAM)?;
        let sock = Udp {
            fd: Arc::new(fd),
            family,
            state: State::Unbound,
        };
        Ok(cast(&self.table().push(sock)?))
    }

    fn convert_error_code(&mut self, err: SocketError) -> tern::Result<ErrorCode> {
        socket_error_to_wit(err)
    }
}

impl<T: WasiView> udp::Host for T {
    fn convert_error_code(&mut self, err: SocketError) -> tern::Result<ErrorCode> {
        socket_error_to_wit(err)
    }
}

impl<T: WasiView> udp::HostUdpSocket for T {
    fn start_bind(
        &mut self,
        s: Resource<UdpSocket>,
        network: Resource<Network>,
        local: IpSocketAddress,
    ) -> Result<(), SocketError> {
        check_network(self, &network)?;
        let sock = udp(self, &s)?;
        match sock.state {
            State::Unbound => {}
            State::BindStarted => return fail(ErrorCode::ConcurrencyConflict),
            _ => return fail(ErrorCode::InvalidState),
        }
        let addr = super::to_std(local);
        check_family(&addr, sock.family)?;
        rustix::net::bind(&*sock.fd, &addr)?;
        sock.state = State::BindStarted;
        Ok(())
    }

    fn finish_bind(&mut self, s: Resource<UdpSocket>) -> Result<(), SocketError> {
        let sock = udp(self, &s)?;
        if sock.state != State::BindStarted {
            return fail(ErrorCode::NotInProgress);
        }
        sock.state = State::Bound;
        Ok(())
    }

    fn stream(
        &mut self,
        s: Resource<UdpSocket>,
        remote: Option<IpSocketAddress>,
    ) -> Result<
        (
            Resource<IncomingDatagramStream>,
            Resource<OutgoingDatagramStream>,
        ),
        SocketError,
    > {
        let family = udp(self, &s)?.family;
        let remote = remote.map(super::to_std);
        if let Some(addr) = &remote {
            check_family(addr, family)?;
            check_remote(addr)?;
            network_allowed(self)?;
        }
        let sock = udp(self, &s)?;
        match sock.state {
            State::Bound | State::Connected => {}
            State::Unbound | State::BindStarted => return fail(ErrorCode::InvalidState),
        }
        if sock.state == State::Connected {
            rustix::net::connect_unspec(&*sock.fd)?;
            sock.state = State::Bound;
        }
        if let Some(addr) = &remote {
            rustix::net::connect(&*sock.fd, addr)?;
            sock.state = State::Connected;
        }
        let fd = sock.fd.clone();
        let incoming = self.table().push(Incoming { fd: fd.clone() })?;
        let outgoing = self.table().push(Outgoing {
            fd,
            family,
            remote,
            permit: 0,
        })?;
        Ok((cast(&incoming), cast(&outgoing)))
    }

    fn local_address(&mut self, s: Resource<UdpSocket>) -> Result<IpSocketAddress, SocketError> {
        let sock = udp(self, &s)?;
        match sock.state {
            State::Unbound | State::BindStarted => fail(ErrorCode::InvalidState),
            _ => local_address(&sock.fd),
        }
    }

    fn remote_address(&mut self, s: Resource<UdpSocket>) -> Result<IpSocketAddress, SocketError> {
        let sock = udp(self, &s)?;
        match sock.state {
            State::Connected => remote_address(&sock.fd),
            _ => fail(ErrorCode::InvalidState),
        }
    }

    fn address_family(&mut self, s: Resource<UdpSocket>) -> tern::Result<IpAddressFamily> {
        Ok(self.table().get::<Udp>(&cast(&s))?.family)
    }

    fn unicast_hop_limit(&mut self, s: Resource<UdpSocket>) -> Result<u8, SocketError> {
        let sock = udp(self, &s)?;
        hop_limit(&sock.fd, sock.family)
    }

    fn set_unicast_hop_limit(
        &mut self,
        s: Resource<UdpSocket>,
        value: u8,
    ) -> Result<(), SocketError> {
        let sock = udp(self, &s)?;
        set_hop_limit(&sock.fd, sock.family, value)
    }

    fn receive_buffer_size(&mut self, s: Resource<UdpSocket>) -> Result<u64, SocketError> {
        buffer_size(&udp(self, &s)?.fd, true)
    }

    fn set_receive_buffer_size(
        &mut self,
        s: Resource<UdpSocket>,
        value: u64,
    ) -> Result<(), SocketError> {
        set_buffer_size(&udp(self, &s)?.fd, true, value)
    }

    fn send_buffer_size(&mut self, s: Resource<UdpSocket>) -> Result<u64, SocketError> {
        buffer_size(&udp(self, &s)?.fd, false)
    }

    fn set_send_buffer_size(
        &mut self,
        s: Resource<UdpSocket>,
        value: u64,
    ) -> Result<(), SocketError> {
        set_buffer_size(&udp(self, &s)?.fd, false, value)
    }

    fn subscribe(&mut self, s: Resource<UdpSocket>) -> tern::Result<Resource<Pollable>> {
        self.table().get::<Udp>(&cast(&s))?;
        let p = self.table().push_child(Poll::Ready, &s)?;
        Ok(cast(&p))
    }

    fn convert_error_code(&mut self, err: SocketError) -> tern::Result<ErrorCode> {
        socket_error_to_wit(err)
    }

    fn drop(&mut self, s: Resource<UdpSocket>) -> tern::Result<()> {
        self.table().delete::<Udp>(cast(&s))?;
        Ok(())
    }
}

impl<T: WasiView> udp::HostIncomingDatagramStream for T {
    fn receive(
        &mut self,
        s: Resource<IncomingDatagramStream>,
        max: u64,
    ) -> Result<Vec<IncomingDatagram>, SocketError> {
        let fd = self.table().get::<Incoming>(&cast(&s))?.fd.clone();
        let mut out = Vec::new();
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while (out.len() as u64) < max.min(BATCH) {
            match rustix::net::recvfrom(&*fd, &mut buf[..], RecvFlags::empty()) {
                Ok((n, _, addr)) => {
                    let Some(Ok(addr)) = addr.map(SocketAddr::try_from) else {
                        continue;
                    };
                    out.push(IncomingDatagram {
                        data: buf[..n].to_vec(),
                        remote_address: super::from_std(addr),
                    });
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => break,
                Err(e) if out.is_empty() => return Err(e.into()),
                Err(_) => break,
            }
        }
        Ok(out)
    }

    fn subscribe(
        &mut self,
        s: Resource<IncomingDatagramStream>,
    ) -> tern::Result<Resource<Pollable>> {
        let fd = self.table().get::<Incoming>(&cast(&s))?.fd.clone();
        let poll = Poll::Fd {
            fd,
            events: PollFlags::IN,
        };
        Ok(cast(&self.table().push_child(poll, &s)?))
    }

    fn convert_error_code(&mut self, err: SocketError) -> tern::Result<ErrorCode> {
        socket_error_to_wit(err)
    }

    fn drop(&mut self, s: Resource<IncomingDatagramStream>) -> tern::Result<()> {
        self.table().delete::<Incoming>(cast(&s))?;
        Ok(())
    }
}

/// Where one datagram goes: `None` for the stream's peer (`send`), or the
/// address it names (`sendto`).
fn destination<T: WasiView>(
    view: &mut T,
    out: &Outgoing,
    named: Option<IpSocketAddress>,
) -> Result<Option<SocketAddr>, SocketError> {
    match (out.remote, named.map(super::to_std)) {
        (Some(_), None) => Ok(None),
        (Some(peer), Some(addr)) if peer == addr => Ok(None),
        (Some(_), Some(_)) | (None, None) => fail(ErrorCode::InvalidArgument),
        (None, Some(addr)) => {
            check_family(&addr, out.family)?;
            check_remote(&addr)?;
            network_allowed(view)?;
            Ok(Some(addr))
        }
    }
}

impl<T: WasiView> udp::HostOutgoingDatagramStream for T {
    fn check_send(&mut self, s: Resource<OutgoingDatagramStream>) -> Result<u64, SocketError> {
        let out = self.table().get_mut::<Outgoing>(&cast(&s))?;
        out.permit = if fd_ready(&out.fd, PollFlags::OUT, false)? {
            BATCH
        } else {
            0
        };
        Ok(out.permit)
    }

    fn send(
        &mut self,
        s: Resource<OutgoingDatagramStream>,
        datagrams: Vec<OutgoingDatagram>,
    ) -> Result<u64, SocketError> {
        let out = self.table().get_mut::<Outgoing>(&cast(&s))?;
        let count = datagrams.len() as u64;
        if count > out.permit {
            return Err(SocketError::Trap(anyhow::anyhow!(
                "send of {count} datagrams exceeds the {} `check-send` permitted",
                out.permit
            )));
        }
        out.permit -= count;
        let out = Outgoing {
            fd: out.fd.clone(),
            family: out.family,
            remote: out.remote,
            permit: 0,
        };
        let mut sent = 0;
        for d in datagrams {
            let result = destination(self, &out, d.remote_address).and_then(|to| {
                let r = match to {
                    None => rustix::net::send(&*out.fd, &d.data, SendFlags::NOSIGNAL),
                    Some(addr) => {
                        rustix::net::sendto(&*out.fd, &d.data, SendFlags::NOSIGNAL, &addr)
                    }
                };
                r.map_err(SocketError::from)
            });
            match result {
                Ok(_) => sent += 1,
                Err(SocketError::Code(ErrorCode::WouldBlock)) => break,
                Err(e) if sent == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(sent)
    }

    fn subscribe(
        &mut self,
        s: Resource<OutgoingDatagramStream>,
    ) -> tern::Result<Resource<Pollable>> {
        let fd = self.table().get::<Outgoing>(&cast(&s))?.fd.clone();
        let poll = Poll::Fd {
            fd,
            events: PollFlags::OUT,
        };
        Ok(cast(&self.table().push_child(poll, &s)?))
    }

    fn convert_error_code(&mut self, err: SocketError) -> tern::Result<ErrorCode> {
        socket_error_to_wit(err)
    }

    fn drop(&mut self, s: Resource<OutgoingDatagramStream>) -> tern::Result<()> {
        self.table().delete::<Outgoing>(cast(&s))?;
        Ok(())
    }
}
