//! `wasi:sockets/tcp` and `tcp-create-socket`: a TCP socket's table entry
//! and the WIT's state machine over it (`unbound` → `bind-in-progress` →
//! `bound` → `listen-in-progress` → `listening`, or → `connect-in-progress`
//! → `connected`; a failed connect leaves it `closed`). The host socket is
//! non-blocking: `start-connect` starts the kernel's connect, and
//! `finish-connect` answers `would-block` until `poll(2)` says it finished;
//! bind and listen happen in their `start-*` call. Starting an operation
//! while the same one is in progress is `concurrency-conflict`; any other
//! state that does not allow it is `invalid-state`.
//!
//! A connected socket's input and output streams (`streams.rs`) share its
//! descriptor, so they keep working when the socket handle is dropped, as
//! in wasmtime.

use super::{
    buffer_size, check_family, check_network, check_remote, check_unicast, fail, hop_limit,
    local_address, new_socket, remote_address, set_buffer_size, set_hop_limit,
};
use crate::p2::bindings::wasi::sockets::tcp::{
    self, Duration, ErrorCode, InputStream, IpAddressFamily, IpSocketAddress, Network,
    OutputStream, Pollable, ShutdownType, TcpSocket,
};
use crate::p2::bindings::wasi::sockets::tcp_create_socket;
use crate::p2::error::{socket_error_to_wit, SocketError};
use crate::p2::poll::{fd_ready, Poll};
use crate::p2::streams::{Input, Output, Sink};
use crate::p2::{cast, WasiView};
use rustix::event::PollFlags;
use rustix::io::Errno;
use rustix::net::{sockopt, SocketFlags, SocketType};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use tern::component::{Resource, ResourceTable};

/// The backlog `listen` gets unless the guest sets another.
const DEFAULT_BACKLOG: i32 = 128;
/// Linux's largest keep-alive idle time and interval, in seconds.
const MAX_KEEPALIVE_SECS: u64 = 32_767;
/// Linux's largest keep-alive probe count.
const MAX_KEEPALIVE_COUNT: u32 = 127;

/// Where a TCP socket is in the WIT's state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Unbound,
    BindStarted,
    Bound,
    ListenStarted,
    Listening,
    ConnectStarted,
    Connected,
    Closed,
}

/// A `tcp-socket`'s table entry.
pub(crate) struct Tcp {
    fd: Arc<OwnedFd>,
    family: IpAddressFamily,
    state: State,
    backlog: i32,
}

impl Tcp {
    /// `invalid-state` in the `closed` state (which every method may
    /// return), else the descriptor.
    fn open_fd(&self) -> Result<&OwnedFd, SocketError> {
        match self.state {
            State::Closed => fail(ErrorCode::InvalidState),
            _ => Ok(&self.fd),
        }
    }
}

fn tcp<'v, T: WasiView>(
    view: &'v mut T,
    r: &Resource<TcpSocket>,
) -> Result<&'v mut Tcp, SocketError> {
    Ok(view.table().get_mut::<Tcp>(&cast(r))?)
}

/// What the pollable of the TCP socket `rep` waits for now: the end of a
/// connect (writable), an incoming connection (readable), or nothing
/// (`None`: ready).
pub(crate) fn tcp_wait(
    table: &ResourceTable,
    rep: u32,
) -> anyhow::Result<Option<(Arc<OwnedFd>, PollFlags)>> {
    let sock = table.get::<Tcp>(&Resource::new_borrow(rep))?;
    Ok(match sock.state {
        State::ConnectStarted => Some((sock.fd.clone(), PollFlags::OUT)),
        State::Listening => Some((sock.fd.clone(), PollFlags::IN)),
        _ => None,
    })
}

/// The input and output streams of a connected socket.
fn streams<T: WasiView>(
    view: &mut T,
    fd: &Arc<OwnedFd>,
) -> Result<(Resource<InputStream>, Resource<OutputStream>), SocketError> {
    let input = view.table().push(Input::Tcp(fd.clone()))?;
    let output = view.table().push(Output::new(Sink::Tcp {
        fd: fd.clone(),
        pending: Vec::new(),
    }))?;
    Ok((cast(&input), cast(&output)))
}

/// A duration in whole seconds for a keep-alive option: 0 is
/// `invalid-argument`, the rest rounds up and is clamped to what Linux takes.
fn keepalive_secs(ns: Duration) -> Result<std::time::Duration, SocketError> {
    if ns == 0 {
        return fail(ErrorCode::InvalidArgument);
    }
    let secs = ns.div_ceil(1_000_000_000).min(MAX_KEEPALIVE_SECS);
    Ok(std::time::Duration::from_secs(secs))
}

fn nanos(d: std::time::Duration) -> Duration {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl<T: WasiView> tcp_create_socket::Host for T {
    fn create_tcp_socket(
        &mut self,
        family: IpAddressFamily,
    ) -> Result<Resource<TcpSocket>, SocketError> {
        let fd = new_socket(family, SocketType::STREAM)?;
        let sock = Tcp {
            fd: Arc::new(fd),
            family,
            state: State::Unbound,
            backlog: DEFAULT_BACKLOG,
        };
        Ok(cast(&self.table().push(sock)?))
    }

    fn convert_error_code(&mut self, err: SocketError) -> tern::Result<ErrorCode> {
        socket_error_to_wit(err)
    }
}

impl<T: WasiView> tcp::Host for T {
    fn convert_error_code(&mut self, err: SocketError) -> tern::Result<ErrorCode> {
        socket_error_to_wit(err)
    }
}

impl<T: WasiView> tcp::HostTcpSocket for T {
    fn start_bind(
        &mut self,
        s: Resource<TcpSocket>,
        network: Resource<Network>,
        local: IpSocketAddress,
    ) -> Result<(), SocketError> {
        check_network(self, &network)?;
        let sock = tcp(self, &s)?;
        match sock.state {
            State::Unbound => {}
            State::BindStarted => return fail(ErrorCode::ConcurrencyConflict),
            _ => return fail(ErrorCode::InvalidState),
        }
        let addr = super::to_std(local);
        check_family(&addr, sock.family)?;
        check_unicast(&addr)?;
        // Binding a port again must not wait for an earlier socket's
        // TIME_WAIT (the WIT's implementors' note).
        if addr.port() != 0 {
            sockopt::set_socket_reuseaddr(&*sock.fd, true)?;
        }
        rustix::net::bind(&*sock.fd, &addr)?;
        sock.state = State::BindStarted;
        Ok(())
    }

    fn finish_bind(&mut self, s: Resource<TcpSocket>) -> Result<(), SocketError> {
        let sock = tcp(self, &s)?;
        if sock.state != State::BindStarted {
            return fail(ErrorCode::NotInProgress);
        }
        sock.state = State::Bound;
        Ok(())
    }

    fn start_connect(
        &mut self,
        s: Resource<TcpSocket>,
        network: Resource<Network>,
        remote: IpSocketAddress,
    ) -> Result<(), SocketError> {
        check_network(self, &network)?;
        let sock = tcp(self, &s)?;
        match sock.state {
            State::Unbound | State::Bound => {}
            State::ConnectStarted => return fail(ErrorCode::ConcurrencyConflict),
            _ => return fail(ErrorCode::InvalidState),
        }
        let addr = super::to_std(remote);
        check_family(&addr, sock.family)?;
        check_unicast(&addr)?;
        check_remote(&addr)?;
        match rustix::net::connect(&*sock.fd, &addr) {
            Ok(()) | Err(Errno::INPROGRESS) | Err(Errno::INTR) => {
                sock.state = State::ConnectStarted;
                Ok(())
            }
            Err(e) => {
                sock.state = State::Closed;
                Err(e.into())
            }
        }
    }

    fn finish_connect(
        &mut self,
        s: Resource<TcpSocket>,
    ) -> Result<(Resource<InputStream>, Resource<OutputStream>), SocketError> {
        let sock = tcp(self, &s)?;
        if sock.state != State::ConnectStarted {
            return fail(ErrorCode::NotInProgress);
        }
        if !fd_ready(&sock.fd, PollFlags::OUT, false)? {
            return fail(ErrorCode::WouldBlock);
        }
        if let Err(e) = sockopt::socket_error(&*sock.fd)? {
            sock.state = State::Closed;
            return Err(e.into());
        }
        sock.state = State::Connected;
        let fd = sock.fd.clone();
        streams(self, &fd)
    }

    fn start_listen(&mut self, s: Resource<TcpSocket>) -> Result<(), SocketError> {
        let sock = tcp(self, &s)?;
        match sock.state {
            State::Bound => {}
            State::ListenStarted => return fail(ErrorCode::ConcurrencyConflict),
            _ => return fail(ErrorCode::InvalidState),
        }
        rustix::net::listen(&*sock.fd, sock.backlog)?;
        sock.state = State::ListenStarted;
        Ok(())
    }

    fn finish_listen(&mut self, s: Resource<TcpSocket>) -> Result<(), SocketError> {
        let sock = tcp(self, &s)?;
        if sock.state != State::ListenStarted {
            return fail(ErrorCode::NotInProgress);
        }
        sock.state = State::Listening;
        Ok(())
    }

    fn accept(
        &mut self,
        s: Resource<TcpSocket>,
    ) -> Result<
        (
            Resource<TcpSocket>,
            Resource<InputStream>,
            Resource<OutputStream>,
        ),
        SocketError,
    > {
        let sock = tcp(self, &s)?;
        if sock.state != State::Listening {
            return fail(ErrorCode::InvalidState);
        }
        let family = sock.family;
        let client = loop {
            match rustix::net::accept_with(&*sock.fd, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC)
            {
                Ok(fd) => break Arc::new(fd),
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        };
        let (input, output) = streams(self, &client)?;
        let accepted = Tcp {
            fd: client,
            family,
            state: State::Connected,
            backlog: DEFAULT_BACKLOG,
        };
        let accepted = self.table().push(accepted)?;
        Ok((cast(&accepted), input, output))
    }

    fn local_address(&mut self, s: Resource<TcpSocket>) -> Result<IpSocketAddress, SocketError> {
        let sock = tcp(self, &s)?;
        match sock.state {
            State::Unbound | State::BindStarted | State::Closed => fail(ErrorCode::InvalidState),
            _ => local_address(&sock.fd),
        }
    }

    fn remote_address(&mut self, s: Resource<TcpSocket>) -> Result<IpSocketAddress, SocketError> {
        let sock = tcp(self, &s)?;
        match sock.state {
            State::Connected => remote_address(&sock.fd),
            _ => fail(ErrorCode::InvalidState),
        }
    }

    fn is_listening(&mut self, s: Resource<TcpSocket>) -> tern::Result<bool> {
        Ok(self.table().get::<Tcp>(&cast(&s))?.state == State::Listening)
    }

    fn address_family(&mut self, s: Resource<TcpSocket>) -> tern::Result<IpAddressFamily> {
        Ok(self.table().get::<Tcp>(&cast(&s))?.family)
    }

    fn set_listen_backlog_size(
        &mut self,
        s: Resource<TcpSocket>,
        value: u64,
    ) -> Result<(), SocketError> {
        let sock = tcp(self, &s)?;
        if value == 0 {
            return fail(ErrorCode::InvalidArgument);
        }
        let value = i32::try_from(value).unwrap_or(i32::MAX);
        match sock.state {
            State::ConnectStarted | State::Connected | State::Closed => {
                fail(ErrorCode::InvalidState)
            }
            // Linux takes a new backlog from a second `listen`.
            State::ListenStarted | State::Listening => {
                rustix::net::listen(&*sock.fd, value)?;
                sock.backlog = value;
                Ok(())
            }
            State::Unbound | State::BindStarted | State::Bound => {
                sock.backlog = value;
                Ok(())
            }
        }
    }

    fn keep_alive_enabled(&mut self, s: Resource<TcpSocket>) -> Result<bool, SocketError> {
        Ok(sockopt::socket_keepalive(tcp(self, &s)?.open_fd()?)?)
    }

    fn set_keep_alive_enabled(
        &mut self,
        s: Resource<TcpSocket>,
        value: bool,
    ) -> Result<(), SocketError> {
        Ok(sockopt::set_socket_keepalive(
            tcp(self, &s)?.open_fd()?,
            value,
        )?)
    }

    fn keep_alive_idle_time(&mut self, s: Resource<TcpSocket>) -> Result<Duration, SocketError> {
        Ok(nanos(sockopt::tcp_keepidle(tcp(self, &s)?.open_fd()?)?))
    }

    fn set_keep_alive_idle_time(
        &mut self,
        s: Resource<TcpSocket>,
        value: Duration,
    ) -> Result<(), SocketError> {
        let fd = tcp(self, &s)?.open_fd()?;
        Ok(sockopt::set_tcp_keepidle(fd, keepalive_secs(value)?)?)
    }

    fn keep_alive_interval(&mut self, s: Resource<TcpSocket>) -> Result<Duration, SocketError> {
        Ok(nanos(sockopt::tcp_keepintvl(tcp(self, &s)?.open_fd()?)?))
    }

    fn set_keep_alive_interval(
        &mut self,
        s: Resource<TcpSocket>,
        value: Duration,
    ) -> Result<(), SocketError> {
        let fd = tcp(self, &s)?.open_fd()?;
        Ok(sockopt::set_tcp_keepintvl(fd, keepalive_secs(value)?)?)
    }

    fn keep_alive_count(&mut self, s: Resource<TcpSocket>) -> Result<u32, SocketError> {
        Ok(sockopt::tcp_keepcnt(tcp(self, &s)?.open_fd()?)?)
    }

    fn set_keep_alive_count(
        &mut self,
        s: Resource<TcpSocket>,
        value: u32,
    ) -> Result<(), SocketError> {
        if value == 0 {
            return fail(ErrorCode::InvalidArgument);
        }
        let fd = tcp(self, &s)?.open_fd()?;
        Ok(sockopt::set_tcp_keepcnt(
            fd,
            value.min(MAX_KEEPALIVE_COUNT),
        )?)
    }

    fn hop_limit(&mut self, s: Resource<TcpSocket>) -> Result<u8, SocketError> {
        let sock = tcp(self, &s)?;
        hop_limit(sock.open_fd()?, sock.family)
    }

    fn set_hop_limit(&mut self, s: Resource<TcpSocket>, value: u8) -> Result<(), SocketError> {
        let sock = tcp(self, &s)?;
        set_hop_limit(sock.open_fd()?, sock.family, value)
    }

    fn receive_buffer_size(&mut self, s: Resource<TcpSocket>) -> Result<u64, SocketError> {
        buffer_size(tcp(self, &s)?.open_fd()?, true)
    }

    fn set_receive_buffer_size(
        &mut self,
        s: Resource<TcpSocket>,
        value: u64,
    ) -> Result<(), SocketError> {
        set_buffer_size(tcp(self, &s)?.open_fd()?, true, value)
    }

    fn send_buffer_size(&mut self, s: Resource<TcpSocket>) -> Result<u64, SocketError> {
        buffer_size(tcp(self, &s)?.open_fd()?, false)
    }

    fn set_send_buffer_size(
        &mut self,
        s: Resource<TcpSocket>,
        value: u64,
    ) -> Result<(), SocketError> {
        set_buffer_size(tcp(self, &s)?.open_fd()?, false, value)
    }

    fn subscribe(&mut self, s: Resource<TcpSocket>) -> tern::Result<Resource<Pollable>> {
        self.table().get::<Tcp>(&cast(&s))?;
        let p = self.table().push_child(Poll::TcpSocket(s.rep()), &s)?;
        Ok(cast(&p))
    }

    fn shutdown(&mut self, s: Resource<TcpSocket>, how: ShutdownType) -> Result<(), SocketError> {
        let sock = tcp(self, &s)?;
        if sock.state != State::Connected {
            return fail(ErrorCode::InvalidState);
        }
        let how = match how {
            ShutdownType::Receive => rustix::net::Shutdown::Read,
            ShutdownType::Send => rustix::net::Shutdown::Write,
            ShutdownType::Both => rustix::net::Shutdown::Both,
        };
        match rustix::net::shutdown(&*sock.fd, how) {
            // The peer already went away: nothing is left to shut down.
            Ok(()) | Err(Errno::NOTCONN) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn convert_error_code(&mut self, err: SocketError) -> tern::Result<ErrorCode> {
        socket_error_to_wit(err)
    }

    fn drop(&mut self, s: Resource<TcpSocket>) -> tern::Result<()> {
        self.table().delete::<Tcp>(cast(&s))?;
        Ok(())
    }
}
