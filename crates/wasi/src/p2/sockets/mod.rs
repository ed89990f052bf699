//! `wasi:sockets`: TCP and UDP sockets on 127.0.0.1 and beyond, and name
//! lookup, for WASI 0.2 guests. Every socket is a non-blocking host socket
//! (`rustix::net`); the WIT's two-phase operations (`start-bind` /
//! `finish-bind`, …) are state machines over it, and the guest waits through
//! pollables that `wasi:io/poll` turns into one `poll(2)` with everything
//! else it waits for.
//!
//! Nothing reaches the network unless the embedder allowed it
//! ([`crate::WasiCtxBuilder::inherit_network`],
//! [`crate::WasiCtxBuilder::allow_ip_name_lookup`]): as in wasmtime, creating
//! a socket always works, but binding, connecting and sending to an address
//! return `access-denied`, and name lookups `permanent-resolver-failure`.
//!
//! Layout: this file (the `network` resource, addresses, error codes and the
//! options TCP and UDP share), `tcp.rs`, `udp.rs`, `ip_name_lookup.rs`.

mod ip_name_lookup;
mod tcp;
mod udp;

pub(crate) use tcp::tcp_wait;

use super::bindings::wasi::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use super::bindings::wasi::sockets::{instance_network, network};
use super::error::SocketError;
use super::{cast, WasiView};
use rustix::io::Errno;
use rustix::net::{sockopt, AddressFamily, SocketFlags, SocketType};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::OwnedFd;
use tern::component::Resource;

/// A `network`'s table entry: the capability every bind, connect and lookup
/// names. What it allows is the context's (`NetworkPerms`).
pub(crate) struct NetworkHandle;

/// The WIT error code for a host `errno` of a socket call.
pub(crate) fn errno_code(e: Errno) -> ErrorCode {
    use ErrorCode as C;
    match e {
        Errno::ACCESS | Errno::PERM => C::AccessDenied,
        Errno::OPNOTSUPP | Errno::AFNOSUPPORT | Errno::PROTONOSUPPORT => C::NotSupported,
        Errno::INVAL | Errno::DESTADDRREQ => C::InvalidArgument,
        Errno::NOMEM | Errno::NOBUFS => C::OutOfMemory,
        Errno::TIMEDOUT => C::Timeout,
        Errno::ALREADY => C::ConcurrencyConflict,
        Errno::AGAIN | Errno::INPROGRESS => C::WouldBlock,
        Errno::MFILE | Errno::NFILE => C::NewSocketLimit,
        Errno::ADDRNOTAVAIL => C::AddressNotBindable,
        Errno::ADDRINUSE => C::AddressInUse,
        Errno::HOSTUNREACH | Errno::HOSTDOWN | Errno::NETUNREACH | Errno::NETDOWN => {
            C::RemoteUnreachable
        }
        Errno::CONNREFUSED => C::ConnectionRefused,
        Errno::CONNRESET | Errno::NETRESET => C::ConnectionReset,
        Errno::CONNABORTED => C::ConnectionAborted,
        Errno::MSGSIZE => C::DatagramTooLarge,
        Errno::ISCONN | Errno::NOTCONN => C::InvalidState,
        _ => C::Unknown,
    }
}

/// `Err(code)` as a [`SocketError`].
pub(crate) fn fail<T>(code: ErrorCode) -> Result<T, SocketError> {
    Err(SocketError::Code(code))
}

/// Checks `network` is a live `network` handle and the guest may use the
/// network (`access-denied` otherwise).
pub(crate) fn check_network<T: WasiView, N: 'static>(
    view: &mut T,
    network: &Resource<N>,
) -> Result<(), SocketError> {
    view.table().get::<NetworkHandle>(&cast(network))?;
    if !view.ctx().state_mut()?.network.inherit {
        return fail(ErrorCode::AccessDenied);
    }
    Ok(())
}

/// Whether the guest may use the network (for sends, which name no
/// `network`).
pub(crate) fn network_allowed<T: WasiView>(view: &mut T) -> Result<(), SocketError> {
    if !view.ctx().state_mut()?.network.inherit {
        return fail(ErrorCode::AccessDenied);
    }
    Ok(())
}

/// A WIT socket address as the host's.
pub(crate) fn to_std(a: IpSocketAddress) -> SocketAddr {
    match a {
        IpSocketAddress::Ipv4(a) => {
            let (x, y, z, w) = a.address;
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(x, y, z, w), a.port))
        }
        IpSocketAddress::Ipv6(a) => {
            let (p, q, r, s, t, u, v, w) = a.address;
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::new(p, q, r, s, t, u, v, w),
                a.port,
                a.flow_info,
                a.scope_id,
            ))
        }
    }
}

/// A host socket address as the WIT's.
pub(crate) fn from_std(a: SocketAddr) -> IpSocketAddress {
    match a {
        SocketAddr::V4(a) => {
            let [x, y, z, w] = a.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: a.port(),
                address: (x, y, z, w),
            })
        }
        SocketAddr::V6(a) => {
            let [p, q, r, s, t, u, v, w] = a.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info: a.flowinfo(),
                address: (p, q, r, s, t, u, v, w),
                scope_id: a.scope_id(),
            })
        }
    }
}

/// A host IP address as the WIT's.
pub(crate) fn ip_from_std(a: IpAddr) -> IpAddress {
    match a {
        IpAddr::V4(a) => {
            let [x, y, z, w] = a.octets();
            IpAddress::Ipv4((x, y, z, w))
        }
        IpAddr::V6(a) => {
            let [p, q, r, s, t, u, v, w] = a.segments();
            IpAddress::Ipv6((p, q, r, s, t, u, v, w))
        }
    }
}

/// `invalid-argument` unless `addr` is of the socket's `family` and not an
/// IPv4-mapped IPv6 address (IPv6 sockets are IPv6-only).
pub(crate) fn check_family(addr: &SocketAddr, family: IpAddressFamily) -> Result<(), SocketError> {
    match (addr, family) {
        (SocketAddr::V4(_), IpAddressFamily::Ipv4) => Ok(()),
        (SocketAddr::V6(a), IpAddressFamily::Ipv6) if a.ip().to_ipv4_mapped().is_none() => Ok(()),
        _ => fail(ErrorCode::InvalidArgument),
    }
}

/// `invalid-argument` for a multicast or broadcast address.
pub(crate) fn check_unicast(addr: &SocketAddr) -> Result<(), SocketError> {
    let unicast = match addr.ip() {
        IpAddr::V4(a) => !a.is_multicast() && !a.is_broadcast(),
        IpAddr::V6(a) => !a.is_multicast(),
    };
    if unicast {
        Ok(())
    } else {
        fail(ErrorCode::InvalidArgument)
    }
}

/// `invalid-argument` for a remote address no datagram or connection can
/// go to: the unspecified address (`0.0.0.0`, `::`) or port 0.
pub(crate) fn check_remote(addr: &SocketAddr) -> Result<(), SocketError> {
    if addr.ip().is_unspecified() || addr.port() == 0 {
        return fail(ErrorCode::InvalidArgument);
    }
    Ok(())
}

/// A new non-blocking socket of `family`; IPv6 sockets are IPv6-only, as
/// the WIT requires.
pub(crate) fn new_socket(family: IpAddressFamily, ty: SocketType) -> Result<OwnedFd, SocketError> {
    let domain = match family {
        IpAddressFamily::Ipv4 => AddressFamily::INET,
        IpAddressFamily::Ipv6 => AddressFamily::INET6,
    };
    let fd = rustix::net::socket_with(
        domain,
        ty,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    if family == IpAddressFamily::Ipv6 {
        sockopt::set_ipv6_v6only(&fd, true)?;
    }
    Ok(fd)
}

/// The socket's bound address.
pub(crate) fn local_address(fd: &OwnedFd) -> Result<IpSocketAddress, SocketError> {
    let addr = rustix::net::getsockname(fd)?;
    match SocketAddr::try_from(addr) {
        Ok(a) => Ok(from_std(a)),
        Err(_) => fail(ErrorCode::Unknown),
    }
}

/// The socket's connected peer (`invalid-state` when there is none).
pub(crate) fn remote_address(fd: &OwnedFd) -> Result<IpSocketAddress, SocketError> {
    match rustix::net::getpeername(fd)?.map(SocketAddr::try_from) {
        Some(Ok(a)) => Ok(from_std(a)),
        Some(Err(_)) => fail(ErrorCode::Unknown),
        None => fail(ErrorCode::InvalidState),
    }
}

/// `IP_TTL` or `IPV6_UNICAST_HOPS`.
pub(crate) fn hop_limit(fd: &OwnedFd, family: IpAddressFamily) -> Result<u8, SocketError> {
    Ok(match family {
        IpAddressFamily::Ipv4 => u8::try_from(sockopt::ip_ttl(fd)?).unwrap_or(u8::MAX),
        IpAddressFamily::Ipv6 => sockopt::ipv6_unicast_hops(fd)?,
    })
}

/// Sets `IP_TTL` or `IPV6_UNICAST_HOPS` (0 is `invalid-argument`).
pub(crate) fn set_hop_limit(
    fd: &OwnedFd,
    family: IpAddressFamily,
    value: u8,
) -> Result<(), SocketError> {
    if value == 0 {
        return fail(ErrorCode::InvalidArgument);
    }
    match family {
        IpAddressFamily::Ipv4 => sockopt::set_ip_ttl(fd, u32::from(value))?,
        IpAddressFamily::Ipv6 => sockopt::set_ipv6_unicast_hops(fd, Some(value))?,
    }
    Ok(())
}

/// The largest buffer size passed to the host (Linux doubles what it is
/// given and caps it at its own maximum, silently, as the WIT allows).
const MAX_BUFFER_SIZE: u64 = (i32::MAX / 2) as u64;

/// `SO_RCVBUF` (`receive`) or `SO_SNDBUF`.
pub(crate) fn buffer_size(fd: &OwnedFd, receive: bool) -> Result<u64, SocketError> {
    let size = if receive {
        sockopt::socket_recv_buffer_size(fd)?
    } else {
        sockopt::socket_send_buffer_size(fd)?
    };
    Ok(size as u64)
}

/// Sets `SO_RCVBUF` (`receive`) or `SO_SNDBUF` (0 is `invalid-argument`).
pub(crate) fn set_buffer_size(fd: &OwnedFd, receive: bool, value: u64) -> Result<(), SocketError> {
    if value == 0 {
        return fail(ErrorCode::InvalidArgument);
    }
    let value = value.min(MAX_BUFFER_SIZE) as usize;
    if receive {
        sockopt::set_socket_recv_buffer_size(fd, value)?;
    } else {
        sockopt::set_socket_send_buffer_size(fd, value)?;
    }
    Ok(())
}

impl<T: WasiView> network::Host for T {}

impl<T: WasiView> network::HostNetwork for T {
    fn drop(&mut self, n: Resource<network::Network>) -> tern::Result<()> {
        self.table().delete::<NetworkHandle>(cast(&n))?;
        Ok(())
    }
}

impl<T: WasiView> instance_network::Host for T {
    fn instance_network(&mut self) -> tern::Result<Resource<instance_network::Network>> {
        Ok(cast(&self.table().push(NetworkHandle)?))
    }
}
