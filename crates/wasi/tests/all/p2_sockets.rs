//! `wasi:sockets` called the way a guest's calls reach it (through the
//! `bindgen!` traits), on 127.0.0.1: the permission checks (everything
//! `access-denied` or `permanent-resolver-failure` unless the context allows
//! it), the TCP and UDP state machines' error codes (`not-in-progress`,
//! `would-block`, `invalid-state`, `concurrency-conflict`,
//! `invalid-argument` exactly where the WIT documents them), socket
//! pollables in `poll` with streams and clocks, and bad handles (traps).

use std::net::Ipv4Addr;
use tern::component::{Resource, ResourceTable};
use tern_wasi::p2::bindings::wasi::clocks::monotonic_clock::Host as _;
use tern_wasi::p2::bindings::wasi::io::poll::{Host as _, Pollable};
use tern_wasi::p2::bindings::wasi::io::streams::{
    HostInputStream, HostOutputStream, InputStream, OutputStream,
};
use tern_wasi::p2::bindings::wasi::sockets::instance_network::Host as _;
use tern_wasi::p2::bindings::wasi::sockets::ip_name_lookup::{
    Host as _, HostResolveAddressStream, ResolveAddressStream,
};
use tern_wasi::p2::bindings::wasi::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
    Network,
};
use tern_wasi::p2::bindings::wasi::sockets::tcp::{HostTcpSocket as Tcp, ShutdownType, TcpSocket};
use tern_wasi::p2::bindings::wasi::sockets::tcp_create_socket::Host as _;
use tern_wasi::p2::bindings::wasi::sockets::udp::{
    HostIncomingDatagramStream as Incoming, HostOutgoingDatagramStream as Outgoing,
    HostUdpSocket as Udp, OutgoingDatagram,
};
use tern_wasi::p2::bindings::wasi::sockets::udp_create_socket::Host as _;
use tern_wasi::p2::{SocketError, StreamError, WasiView};
use tern_wasi::{WasiCtx, WasiCtxBuilder};

struct Host {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
    fn ctx(&mut self) -> &mut WasiCtx {
        &mut self.ctx
    }
}

fn host(network: bool, lookup: bool) -> Host {
    let mut b = WasiCtxBuilder::new();
    if network {
        b.inherit_network();
    }
    b.allow_ip_name_lookup(lookup);
    Host {
        ctx: b.build(),
        table: ResourceTable::new(),
    }
}

fn borrow<T: 'static>(r: &Resource<T>) -> Resource<T> {
    Resource::new_borrow(r.rep())
}

fn code<T: std::fmt::Debug>(r: Result<T, SocketError>) -> ErrorCode {
    match r {
        Err(SocketError::Code(c)) => c,
        other => panic!("expected an error code, got {other:?}"),
    }
}

/// Values of WIT variants compared by their `Debug` text (the generated
/// types have no `PartialEq`).
fn dbg<T: std::fmt::Debug>(t: &T) -> String {
    format!("{t:?}")
}

fn trapped<T: std::fmt::Debug>(r: Result<T, SocketError>) -> bool {
    matches!(r, Err(SocketError::Trap(_)))
}

fn v4(a: Ipv4Addr, port: u16) -> IpSocketAddress {
    let [x, y, z, w] = a.octets();
    IpSocketAddress::Ipv4(Ipv4SocketAddress {
        port,
        address: (x, y, z, w),
    })
}

fn localhost(port: u16) -> IpSocketAddress {
    v4(Ipv4Addr::LOCALHOST, port)
}

fn port(a: &IpSocketAddress) -> u16 {
    match a {
        IpSocketAddress::Ipv4(a) => a.port,
        IpSocketAddress::Ipv6(a) => a.port,
    }
}

/// Blocks on `p` (through `poll`, with a 10 s deadline beside it so a
/// broken pollable fails the test instead of hanging it); true when `p`
/// was the one ready.
fn wait(h: &mut Host, p: &Resource<Pollable>) -> bool {
    let deadline = h.subscribe_duration(10_000_000_000).unwrap();
    let ready = h.poll(vec![borrow(p), borrow(&deadline)]).unwrap();
    tern_wasi::p2::bindings::wasi::io::poll::HostPollable::drop(h, deadline).unwrap();
    ready.contains(&0)
}

fn tcp_socket(h: &mut Host) -> Resource<TcpSocket> {
    h.create_tcp_socket(IpAddressFamily::Ipv4).unwrap()
}

/// A listening socket on 127.0.0.1 and its port.
fn listener(h: &mut Host, net: &Resource<Network>) -> (Resource<TcpSocket>, u16) {
    let l = tcp_socket(h);
    Tcp::start_bind(h, borrow(&l), borrow(net), localhost(0)).unwrap();
    Tcp::finish_bind(h, borrow(&l)).unwrap();
    Tcp::start_listen(h, borrow(&l)).unwrap();
    Tcp::finish_listen(h, borrow(&l)).unwrap();
    let p = port(&Tcp::local_address(h, borrow(&l)).unwrap());
    (l, p)
}

#[test]
fn without_permission_every_socket_operation_is_denied() {
    let mut h = host(false, false);
    let net = h.instance_network().unwrap();
    // Creating a socket needs no network (the WIT, and wasmtime).
    let t = tcp_socket(&mut h);
    assert_eq!(
        code(Tcp::start_bind(
            &mut h,
            borrow(&t),
            borrow(&net),
            localhost(0)
        )),
        ErrorCode::AccessDenied
    );
    assert_eq!(
        code(Tcp::start_connect(
            &mut h,
            borrow(&t),
            borrow(&net),
            localhost(80)
        )),
        ErrorCode::AccessDenied
    );
    // Nothing happened: the socket is still unbound.
    assert_eq!(
        code(Tcp::local_address(&mut h, borrow(&t))),
        ErrorCode::InvalidState
    );
    let u = h.create_udp_socket(IpAddressFamily::Ipv4).unwrap();
    assert_eq!(
        code(Udp::start_bind(
            &mut h,
            borrow(&u),
            borrow(&net),
            localhost(0)
        )),
        ErrorCode::AccessDenied
    );
    // Name lookup is its own permission, refused even for an IP literal.
    for name in ["localhost", "127.0.0.1"] {
        assert_eq!(
            code(h.resolve_addresses(borrow(&net), name.to_string())),
            ErrorCode::PermanentResolverFailure
        );
    }
    // The network alone does not allow lookups.
    let mut h = host(true, false);
    let net = h.instance_network().unwrap();
    assert_eq!(
        code(h.resolve_addresses(borrow(&net), "localhost".to_string())),
        ErrorCode::PermanentResolverFailure
    );
}

#[test]
fn tcp_echo_through_the_state_machine() {
    let mut h = host(true, false);
    let net = h.instance_network().unwrap();
    let s = tcp_socket(&mut h);
    // Finishing what was never started; states that need a bound socket.
    assert_eq!(
        code(Tcp::finish_bind(&mut h, borrow(&s))),
        ErrorCode::NotInProgress
    );
    assert_eq!(
        code(Tcp::finish_listen(&mut h, borrow(&s))),
        ErrorCode::NotInProgress
    );
    assert_eq!(
        code(Tcp::finish_connect(&mut h, borrow(&s))),
        ErrorCode::NotInProgress
    );
    assert_eq!(
        code(Tcp::start_listen(&mut h, borrow(&s))),
        ErrorCode::InvalidState
    );
    assert_eq!(
        code(Tcp::accept(&mut h, borrow(&s))),
        ErrorCode::InvalidState
    );
    assert_eq!(
        code(Tcp::remote_address(&mut h, borrow(&s))),
        ErrorCode::InvalidState
    );
    assert_eq!(
        code(Tcp::shutdown(&mut h, borrow(&s), ShutdownType::Both)),
        ErrorCode::InvalidState
    );
    // An IPv6 address on an IPv4 socket, a multicast address.
    let v6 = IpSocketAddress::Ipv6(Ipv6SocketAddress {
        port: 0,
        flow_info: 0,
        address: (0, 0, 0, 0, 0, 0, 0, 1),
        scope_id: 0,
    });
    assert_eq!(
        code(Tcp::start_bind(&mut h, borrow(&s), borrow(&net), v6)),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(Tcp::start_bind(
            &mut h,
            borrow(&s),
            borrow(&net),
            v4(Ipv4Addr::new(224, 0, 0, 1), 0)
        )),
        ErrorCode::InvalidArgument
    );
    // Options: 0 is invalid-argument, the rest round-trips or is clamped.
    assert_eq!(
        code(Tcp::set_listen_backlog_size(&mut h, borrow(&s), 0)),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(Tcp::set_hop_limit(&mut h, borrow(&s), 0)),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(Tcp::set_keep_alive_idle_time(&mut h, borrow(&s), 0)),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(Tcp::set_keep_alive_interval(&mut h, borrow(&s), 0)),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(Tcp::set_keep_alive_count(&mut h, borrow(&s), 0)),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(Tcp::set_receive_buffer_size(&mut h, borrow(&s), 0)),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(Tcp::set_send_buffer_size(&mut h, borrow(&s), 0)),
        ErrorCode::InvalidArgument
    );
    Tcp::set_hop_limit(&mut h, borrow(&s), 42).unwrap();
    assert_eq!(Tcp::hop_limit(&mut h, borrow(&s)).unwrap(), 42);
    Tcp::set_keep_alive_enabled(&mut h, borrow(&s), true).unwrap();
    assert!(Tcp::keep_alive_enabled(&mut h, borrow(&s)).unwrap());
    Tcp::set_keep_alive_idle_time(&mut h, borrow(&s), 1).unwrap(); // 1 ns: rounded up
    assert_eq!(
        Tcp::keep_alive_idle_time(&mut h, borrow(&s)).unwrap(),
        1_000_000_000
    );
    Tcp::set_keep_alive_count(&mut h, borrow(&s), u32::MAX).unwrap(); // clamped
    assert!(Tcp::keep_alive_count(&mut h, borrow(&s)).unwrap() >= 1);
    Tcp::set_receive_buffer_size(&mut h, borrow(&s), u64::MAX).unwrap(); // clamped
    assert!(Tcp::receive_buffer_size(&mut h, borrow(&s)).unwrap() > 0);
    Tcp::set_listen_backlog_size(&mut h, borrow(&s), u64::MAX).unwrap();
    assert_eq!(
        Tcp::address_family(&mut h, borrow(&s)).unwrap(),
        IpAddressFamily::Ipv4
    );

    // bind: start, a second start while in progress, finish, finish again,
    // bind again once bound.
    Tcp::start_bind(&mut h, borrow(&s), borrow(&net), localhost(0)).unwrap();
    assert_eq!(
        code(Tcp::local_address(&mut h, borrow(&s))),
        ErrorCode::InvalidState
    );
    // Bind in progress: not bound yet, so no listen or connect.
    assert_eq!(
        code(Tcp::start_listen(&mut h, borrow(&s))),
        ErrorCode::InvalidState
    );
    assert_eq!(
        code(Tcp::start_connect(
            &mut h,
            borrow(&s),
            borrow(&net),
            localhost(1)
        )),
        ErrorCode::InvalidState
    );
    assert_eq!(
        code(Tcp::start_bind(
            &mut h,
            borrow(&s),
            borrow(&net),
            localhost(0)
        )),
        ErrorCode::ConcurrencyConflict
    );
    Tcp::finish_bind(&mut h, borrow(&s)).unwrap();
    assert_eq!(
        code(Tcp::finish_bind(&mut h, borrow(&s))),
        ErrorCode::NotInProgress
    );
    assert_eq!(
        code(Tcp::start_bind(
            &mut h,
            borrow(&s),
            borrow(&net),
            localhost(0)
        )),
        ErrorCode::InvalidState
    );
    // listen: the same shape.
    Tcp::start_listen(&mut h, borrow(&s)).unwrap();
    assert!(!Tcp::is_listening(&mut h, borrow(&s)).unwrap());
    assert_eq!(
        code(Tcp::start_listen(&mut h, borrow(&s))),
        ErrorCode::ConcurrencyConflict
    );
    assert_eq!(
        code(Tcp::accept(&mut h, borrow(&s))),
        ErrorCode::InvalidState
    );
    Tcp::finish_listen(&mut h, borrow(&s)).unwrap();
    assert!(Tcp::is_listening(&mut h, borrow(&s)).unwrap());
    assert_eq!(
        code(Tcp::start_listen(&mut h, borrow(&s))),
        ErrorCode::InvalidState
    );
    assert_eq!(
        code(Tcp::start_connect(
            &mut h,
            borrow(&s),
            borrow(&net),
            localhost(1)
        )),
        ErrorCode::InvalidState
    );
    Tcp::set_listen_backlog_size(&mut h, borrow(&s), 16).unwrap(); // while listening
    let listen_port = port(&Tcp::local_address(&mut h, borrow(&s)).unwrap());
    assert_ne!(listen_port, 0);
    // Nothing pending yet.
    assert_eq!(code(Tcp::accept(&mut h, borrow(&s))), ErrorCode::WouldBlock);
    let listen_ready = Tcp::subscribe(&mut h, borrow(&s)).unwrap();

    // A client: remote addresses nothing can connect to, then the listener.
    let c = tcp_socket(&mut h);
    for bad in [localhost(0), v4(Ipv4Addr::UNSPECIFIED, listen_port)] {
        assert_eq!(
            code(Tcp::start_connect(&mut h, borrow(&c), borrow(&net), bad)),
            ErrorCode::InvalidArgument
        );
    }
    Tcp::start_connect(&mut h, borrow(&c), borrow(&net), localhost(listen_port)).unwrap();
    assert_eq!(
        code(Tcp::start_connect(
            &mut h,
            borrow(&c),
            borrow(&net),
            localhost(listen_port)
        )),
        ErrorCode::ConcurrencyConflict
    );
    let connected = Tcp::subscribe(&mut h, borrow(&c)).unwrap();
    assert!(wait(&mut h, &connected));
    let (c_in, c_out) = Tcp::finish_connect(&mut h, borrow(&c)).unwrap();
    assert_eq!(
        code(Tcp::finish_connect(&mut h, borrow(&c))),
        ErrorCode::NotInProgress
    );
    assert_eq!(
        code(Tcp::start_connect(
            &mut h,
            borrow(&c),
            borrow(&net),
            localhost(listen_port)
        )),
        ErrorCode::InvalidState
    );
    assert_eq!(
        port(&Tcp::remote_address(&mut h, borrow(&c)).unwrap()),
        listen_port
    );
    // The socket cannot go while its pollable lives.
    let c_again = Resource::<TcpSocket>::new_own(c.rep());
    assert!(Tcp::drop(&mut h, c).is_err());

    // The listener's pollable is ready: accept.
    assert!(wait(&mut h, &listen_ready));
    let (a, a_in, a_out) = Tcp::accept(&mut h, borrow(&s)).unwrap();
    assert_eq!(
        port(&Tcp::remote_address(&mut h, borrow(&a)).unwrap()),
        port(&Tcp::local_address(&mut h, borrow(&c_again)).unwrap())
    );

    // Nothing to read yet: an empty read, not a block.
    assert!(HostInputStream::read(&mut h, borrow(&a_in), 10)
        .unwrap()
        .is_empty());
    let n = HostOutputStream::check_write(&mut h, borrow(&c_out)).unwrap();
    assert!(n >= 5);
    HostOutputStream::write(&mut h, borrow(&c_out), b"hello".to_vec()).unwrap();
    let readable = HostInputStream::subscribe(&mut h, borrow(&a_in)).unwrap();
    assert!(wait(&mut h, &readable));
    assert_eq!(
        HostInputStream::blocking_read(&mut h, borrow(&a_in), 5).unwrap(),
        b"hello"
    );
    h.blocking_write_and_flush(borrow(&a_out), b"HELLO".to_vec())
        .unwrap();
    assert_eq!(
        HostInputStream::blocking_read(&mut h, borrow(&c_in), 5).unwrap(),
        b"HELLO"
    );
    // Shutting down the client's sending side: the server reads the end,
    // the client's output stream is closed; shutdown is idempotent.
    Tcp::shutdown(&mut h, borrow(&c_again), ShutdownType::Send).unwrap();
    Tcp::shutdown(&mut h, borrow(&c_again), ShutdownType::Send).unwrap();
    assert!(matches!(
        HostInputStream::blocking_read(&mut h, borrow(&a_in), 5),
        Err(StreamError::Closed)
    ));
    assert!(matches!(
        h.blocking_write_and_flush(borrow(&c_out), b"late".to_vec()),
        Err(StreamError::Closed)
    ));
    let a_in = readable_drop(&mut h, readable, a_in);
    HostInputStream::drop(&mut h, a_in).unwrap();
    for o in [a_out, c_out] {
        HostOutputStream::drop(&mut h, o).unwrap();
    }
    HostInputStream::drop(&mut h, c_in).unwrap();
    tern_wasi::p2::bindings::wasi::io::poll::HostPollable::drop(&mut h, connected).unwrap();
    Tcp::drop(&mut h, c_again).unwrap();
    Tcp::drop(&mut h, a).unwrap();
}

/// Drops the pollable `p` of the stream `s`, giving `s` back.
fn readable_drop(
    h: &mut Host,
    p: Resource<Pollable>,
    s: Resource<InputStream>,
) -> Resource<InputStream> {
    tern_wasi::p2::bindings::wasi::io::poll::HostPollable::drop(h, p).unwrap();
    s
}

#[test]
fn a_refused_connection_closes_the_socket() {
    let mut h = host(true, false);
    let net = h.instance_network().unwrap();
    // A port nobody listens on: bound, then closed again.
    let (l, free_port) = listener(&mut h, &net);
    Tcp::drop(&mut h, l).unwrap();
    let c = tcp_socket(&mut h);
    match Tcp::start_connect(&mut h, borrow(&c), borrow(&net), localhost(free_port)) {
        Ok(()) => {
            let p = Tcp::subscribe(&mut h, borrow(&c)).unwrap();
            assert!(wait(&mut h, &p));
            assert_eq!(
                code(Tcp::finish_connect(&mut h, borrow(&c))),
                ErrorCode::ConnectionRefused
            );
            tern_wasi::p2::bindings::wasi::io::poll::HostPollable::drop(&mut h, p).unwrap();
        }
        Err(e) => assert!(
            matches!(e, SocketError::Code(ErrorCode::ConnectionRefused)),
            "{e:?}"
        ),
    }
    // `closed`: every state-dependent method says invalid-state.
    assert_eq!(
        code(Tcp::local_address(&mut h, borrow(&c))),
        ErrorCode::InvalidState
    );
    assert_eq!(
        code(Tcp::hop_limit(&mut h, borrow(&c))),
        ErrorCode::InvalidState
    );
    assert_eq!(
        code(Tcp::start_connect(
            &mut h,
            borrow(&c),
            borrow(&net),
            localhost(free_port)
        )),
        ErrorCode::InvalidState
    );
}

#[test]
fn bad_socket_handles_trap() {
    let mut h = host(true, true);
    let net = h.instance_network().unwrap();
    let s = tcp_socket(&mut h);
    // A handle the table never gave out, as a socket and as a network.
    assert!(trapped(Tcp::finish_bind(
        &mut h,
        Resource::new_borrow(9999)
    )));
    assert!(trapped(Tcp::start_bind(
        &mut h,
        borrow(&s),
        Resource::new_borrow(9999),
        localhost(0)
    )));
    // A socket's handle used as a network, a network's as a socket, a TCP
    // socket's as a UDP socket.
    assert!(trapped(Tcp::start_bind(
        &mut h,
        borrow(&s),
        Resource::<Network>::new_borrow(s.rep()),
        localhost(0)
    )));
    assert!(trapped(Tcp::start_listen(
        &mut h,
        Resource::new_borrow(net.rep())
    )));
    assert!(trapped(Udp::finish_bind(
        &mut h,
        Resource::new_borrow(s.rep())
    )));
    assert!(trapped(h.resolve_addresses(
        Resource::<Network>::new_borrow(s.rep()),
        "localhost".into()
    )));
    // Dropping twice: the second drop finds nothing.
    let again = Resource::<TcpSocket>::new_own(s.rep());
    Tcp::drop(&mut h, s).unwrap();
    assert!(Tcp::drop(&mut h, again).is_err());
    // A stream handle of the wrong kind.
    let r = HostOutputStream::check_write(&mut h, Resource::<OutputStream>::new_borrow(net.rep()));
    assert!(matches!(r, Err(StreamError::Trap(_))), "{r:?}");
}

#[test]
fn udp_datagrams_to_itself() {
    let mut h = host(true, false);
    let net = h.instance_network().unwrap();
    let u = h.create_udp_socket(IpAddressFamily::Ipv4).unwrap();
    assert_eq!(
        code(Udp::stream(&mut h, borrow(&u), None)),
        ErrorCode::InvalidState
    );
    assert_eq!(
        code(Udp::finish_bind(&mut h, borrow(&u))),
        ErrorCode::NotInProgress
    );
    assert_eq!(
        code(Udp::local_address(&mut h, borrow(&u))),
        ErrorCode::InvalidState
    );
    assert_eq!(
        code(Udp::set_unicast_hop_limit(&mut h, borrow(&u), 0)),
        ErrorCode::InvalidArgument
    );
    Udp::start_bind(&mut h, borrow(&u), borrow(&net), localhost(0)).unwrap();
    assert_eq!(
        code(Udp::start_bind(
            &mut h,
            borrow(&u),
            borrow(&net),
            localhost(0)
        )),
        ErrorCode::ConcurrencyConflict
    );
    Udp::finish_bind(&mut h, borrow(&u)).unwrap();
    let my_port = port(&Udp::local_address(&mut h, borrow(&u)).unwrap());
    let me = || localhost(my_port);
    assert_eq!(
        code(Udp::remote_address(&mut h, borrow(&u))),
        ErrorCode::InvalidState
    );
    let (inc, out) = Udp::stream(&mut h, borrow(&u), None).unwrap();

    // `send` needs a `check-send` first: more than permitted traps.
    let d = |data: &[u8], to: Option<IpSocketAddress>| OutgoingDatagram {
        data: data.to_vec(),
        remote_address: to,
    };
    assert!(trapped(Outgoing::send(
        &mut h,
        borrow(&out),
        vec![d(b"x", Some(me()))]
    )));
    let permit = Outgoing::check_send(&mut h, borrow(&out)).unwrap();
    assert!(permit >= 2);
    assert_eq!(Outgoing::send(&mut h, borrow(&out), Vec::new()).unwrap(), 0);
    // Unconnected: an address is required, and must be sendable.
    assert_eq!(
        code(Outgoing::send(&mut h, borrow(&out), vec![d(b"x", None)])),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(Outgoing::send(
            &mut h,
            borrow(&out),
            vec![d(b"x", Some(localhost(0)))]
        )),
        ErrorCode::InvalidArgument
    );
    let permit = Outgoing::check_send(&mut h, borrow(&out)).unwrap();
    assert!(permit >= 2);
    let sent = Outgoing::send(
        &mut h,
        borrow(&out),
        vec![d(b"one", Some(me())), d(b"two two", Some(me()))],
    )
    .unwrap();
    assert_eq!(sent, 2);
    assert!(Incoming::receive(&mut h, borrow(&inc), 0)
        .unwrap()
        .is_empty());
    let readable = Incoming::subscribe(&mut h, borrow(&inc)).unwrap();
    assert!(wait(&mut h, &readable));
    let mut got = Vec::new();
    while got.len() < 2 {
        got.extend(Incoming::receive(&mut h, borrow(&inc), 10).unwrap());
    }
    assert_eq!(got[0].data, b"one");
    assert_eq!(got[1].data, b"two two");
    assert_eq!(dbg(&got[0].remote_address), dbg(&me()));
    assert!(Incoming::receive(&mut h, borrow(&inc), 10)
        .unwrap()
        .is_empty());
    tern_wasi::p2::bindings::wasi::io::poll::HostPollable::drop(&mut h, readable).unwrap();

    // Connected to itself: `none` goes to the peer, another address is
    // invalid-argument, the same address is fine.
    let (inc2, out2) = Udp::stream(&mut h, borrow(&u), Some(me())).unwrap();
    assert_eq!(
        dbg(&Udp::remote_address(&mut h, borrow(&u)).unwrap()),
        dbg(&me())
    );
    Outgoing::check_send(&mut h, borrow(&out2)).unwrap();
    assert_eq!(
        code(Outgoing::send(
            &mut h,
            borrow(&out2),
            vec![d(b"x", Some(localhost(9)))]
        )),
        ErrorCode::InvalidArgument
    );
    Outgoing::check_send(&mut h, borrow(&out2)).unwrap();
    assert_eq!(
        Outgoing::send(
            &mut h,
            borrow(&out2),
            vec![d(b"three", None), d(b"four", Some(me()))]
        )
        .unwrap(),
        2
    );
    let p = Incoming::subscribe(&mut h, borrow(&inc2)).unwrap();
    assert!(wait(&mut h, &p));
    let mut got = Vec::new();
    while got.len() < 2 {
        got.extend(Incoming::receive(&mut h, borrow(&inc2), 10).unwrap());
    }
    assert_eq!(
        (&got[0].data[..], &got[1].data[..]),
        (&b"three"[..], &b"four"[..])
    );
    tern_wasi::p2::bindings::wasi::io::poll::HostPollable::drop(&mut h, p).unwrap();
    Incoming::drop(&mut h, inc).unwrap();
    Outgoing::drop(&mut h, out).unwrap();
    Incoming::drop(&mut h, inc2).unwrap();
    Outgoing::drop(&mut h, out2).unwrap();
    Udp::drop(&mut h, u).unwrap();
}

/// Every address of `name` (waiting on the stream's pollable).
fn resolve(h: &mut Host, net: &Resource<Network>, name: &str) -> Result<Vec<IpAddress>, ErrorCode> {
    let stream: Resource<ResolveAddressStream> = h
        .resolve_addresses(borrow(net), name.to_string())
        .map_err(|e| code::<()>(Err(e)))?;
    let p = HostResolveAddressStream::subscribe(h, borrow(&stream)).unwrap();
    assert!(wait(h, &p));
    tern_wasi::p2::bindings::wasi::io::poll::HostPollable::drop(h, p).unwrap();
    let mut out = Vec::new();
    let result = loop {
        match h.resolve_next_address(borrow(&stream)) {
            Ok(Some(a)) => out.push(a),
            Ok(None) => break Ok(out),
            Err(e) => break Err(code::<()>(Err(e))),
        }
    };
    HostResolveAddressStream::drop(h, stream).unwrap();
    result
}

#[test]
fn name_lookup_resolves_localhost_and_refuses_bad_names() {
    let mut h = host(false, true);
    let net = h.instance_network().unwrap();
    let addrs = resolve(&mut h, &net, "localhost").unwrap();
    assert!(
        addrs
            .iter()
            .any(|a| dbg(a) == dbg(&IpAddress::Ipv4((127, 0, 0, 1)))),
        "{addrs:?}"
    );
    // Literals come back as they are, without a lookup.
    assert_eq!(
        dbg(&resolve(&mut h, &net, "192.0.2.7")),
        dbg(&Ok::<_, ErrorCode>(vec![IpAddress::Ipv4((192, 0, 2, 7))]))
    );
    assert_eq!(
        dbg(&resolve(&mut h, &net, "[::1]")),
        dbg(&Ok::<_, ErrorCode>(vec![IpAddress::Ipv6((
            0, 0, 0, 0, 0, 0, 0, 1
        ))]))
    );
    assert_eq!(
        dbg(&resolve(&mut h, &net, "::ffff:10.0.0.1")),
        dbg(&Ok::<_, ErrorCode>(vec![IpAddress::Ipv4((10, 0, 0, 1))])),
        "never an IPv4-mapped IPv6 address"
    );
    for bad in [
        "",
        "not a name",
        "a/b",
        &"x".repeat(300),
        &format!("{}.com", "y".repeat(64)),
    ] {
        assert_eq!(
            dbg(&resolve(&mut h, &net, bad)),
            dbg(&Err::<Vec<IpAddress>, _>(ErrorCode::InvalidArgument)),
            "{bad:?}"
        );
    }
}

#[test]
fn tcp_writes_never_block_and_what_waits_is_sent_later() {
    let mut h = host(true, false);
    let net = h.instance_network().unwrap();
    let (l, listen_port) = listener(&mut h, &net);
    let c = tcp_socket(&mut h);
    Tcp::set_send_buffer_size(&mut h, borrow(&c), 4096).unwrap();
    Tcp::start_connect(&mut h, borrow(&c), borrow(&net), localhost(listen_port)).unwrap();
    let p = Tcp::subscribe(&mut h, borrow(&c)).unwrap();
    assert!(wait(&mut h, &p));
    let (_c_in, c_out) = Tcp::finish_connect(&mut h, borrow(&c)).unwrap();
    let (_a, a_in, _a_out) = Tcp::accept(&mut h, borrow(&l)).unwrap();
    // Nobody reads: write what `check-write` permits until it permits
    // nothing. Each `write` returns at once (a blocking one would hang here).
    let mut written = 0u64;
    loop {
        let n = HostOutputStream::check_write(&mut h, borrow(&c_out)).unwrap();
        if n == 0 {
            break;
        }
        HostOutputStream::write(&mut h, borrow(&c_out), vec![7; n as usize]).unwrap();
        written += n;
        assert!(written < 1 << 28, "check-write never stopped permitting");
    }
    // The reader drains; the writer's waiting bytes leave as it asks
    // `check-write` again; `poll` waits on both ends at once.
    let readable = HostInputStream::subscribe(&mut h, borrow(&a_in)).unwrap();
    let writable = HostOutputStream::subscribe(&mut h, borrow(&c_out)).unwrap();
    let mut read = 0u64;
    while read < written {
        let got = HostInputStream::read(&mut h, borrow(&a_in), 1 << 20).unwrap();
        assert!(got.iter().all(|&b| b == 7));
        read += got.len() as u64;
        HostOutputStream::check_write(&mut h, borrow(&c_out)).unwrap();
        if got.is_empty() {
            let ready = h.poll(vec![borrow(&readable), borrow(&writable)]).unwrap();
            assert!(!ready.is_empty());
        }
    }
    assert_eq!(read, written);
    h.blocking_flush(borrow(&c_out)).unwrap();
    assert!(HostOutputStream::check_write(&mut h, borrow(&c_out)).unwrap() > 0);
}

#[test]
fn tcp_over_ipv6_loopback() {
    let mut h = host(true, false);
    let net = h.instance_network().unwrap();
    let loopback = |port| {
        IpSocketAddress::Ipv6(Ipv6SocketAddress {
            port,
            flow_info: 0,
            address: (0, 0, 0, 0, 0, 0, 0, 1),
            scope_id: 0,
        })
    };
    let l = h.create_tcp_socket(IpAddressFamily::Ipv6).unwrap();
    assert_eq!(
        Tcp::address_family(&mut h, borrow(&l)).unwrap(),
        IpAddressFamily::Ipv6
    );
    // IPv6 sockets are IPv6-only: IPv4 and IPv4-mapped addresses are refused.
    let mapped = IpSocketAddress::Ipv6(Ipv6SocketAddress {
        port: 0,
        flow_info: 0,
        address: (0, 0, 0, 0, 0, 0xffff, 0x7f00, 1),
        scope_id: 0,
    });
    for bad in [localhost(0), mapped] {
        assert_eq!(
            code(Tcp::start_bind(&mut h, borrow(&l), borrow(&net), bad)),
            ErrorCode::InvalidArgument
        );
    }
    match Tcp::start_bind(&mut h, borrow(&l), borrow(&net), loopback(0)) {
        Ok(()) => {}
        Err(SocketError::Code(ErrorCode::AddressNotBindable)) => {
            eprintln!("skipped: this host has no IPv6 loopback");
            return;
        }
        Err(e) => panic!("{e:?}"),
    }
    Tcp::finish_bind(&mut h, borrow(&l)).unwrap();
    Tcp::start_listen(&mut h, borrow(&l)).unwrap();
    Tcp::finish_listen(&mut h, borrow(&l)).unwrap();
    let listen_port = port(&Tcp::local_address(&mut h, borrow(&l)).unwrap());
    Tcp::set_hop_limit(&mut h, borrow(&l), 7).unwrap();
    assert_eq!(Tcp::hop_limit(&mut h, borrow(&l)).unwrap(), 7);
    let c = h.create_tcp_socket(IpAddressFamily::Ipv6).unwrap();
    Tcp::start_connect(&mut h, borrow(&c), borrow(&net), loopback(listen_port)).unwrap();
    let p = Tcp::subscribe(&mut h, borrow(&c)).unwrap();
    assert!(wait(&mut h, &p));
    let (_c_in, c_out) = Tcp::finish_connect(&mut h, borrow(&c)).unwrap();
    assert_eq!(
        dbg(&Tcp::remote_address(&mut h, borrow(&c)).unwrap()),
        dbg(&loopback(listen_port))
    );
    let (_a, a_in, _a_out) = Tcp::accept(&mut h, borrow(&l)).unwrap();
    h.blocking_write_and_flush(borrow(&c_out), b"v6".to_vec())
        .unwrap();
    assert_eq!(
        HostInputStream::blocking_read(&mut h, borrow(&a_in), 2).unwrap(),
        b"v6"
    );
}
