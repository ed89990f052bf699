//! `net COMMAND`: networking over 127.0.0.1 through `std::net`, printing
//! only what is the same on every correct host (never a port number), so its
//! output under `tern run -S inherit-network` must equal its native output.
//! Built for wasm32-wasip2, `std::net` goes through `wasi:sockets`.
//!
//! - `tcp`: listen, connect and accept within one program (the kernel
//!   completes a connection before it is accepted), a message both ways,
//!   1 MiB in interleaved chunks, a half-close, options, and a non-blocking
//!   `accept` with nothing pending.
//! - `udp`: two sockets send datagrams to each other, one of them
//!   connected; datagram boundaries survive; a non-blocking receive with
//!   nothing pending.
//! - `lookup`: `localhost` resolves to 127.0.0.1.
//!
//! A failure prints `COMMAND failed: KIND` (the `io::ErrorKind`) and exits
//! with 1, which is what a run without network permission shows.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprintln!("usage: net tcp|udp|lookup");
        std::process::exit(2);
    };
    let result = match cmd.as_str() {
        "tcp" => tcp(),
        "udp" => udp(),
        "lookup" => lookup(),
        other => {
            eprintln!("net: unknown command {other}");
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        println!("{cmd} failed: {:?}", e.kind());
        eprintln!("net {cmd}: {e}");
        std::process::exit(1);
    }
}

fn tcp() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    println!(
        "listening on 127.0.0.1 with a port: {}",
        addr.ip() == Ipv4Addr::LOCALHOST && addr.port() != 0
    );
    let mut client = TcpStream::connect(addr)?;
    let (mut server, peer) = listener.accept()?;
    println!("accepted the client: {}", peer == client.local_addr()?);
    println!(
        "the client's peer is the listener: {}",
        client.peer_addr()? == addr
    );

    client.write_all(b"hello over tcp")?;
    let mut buf = [0u8; 14];
    server.read_exact(&mut buf)?;
    println!("server got: {}", String::from_utf8_lossy(&buf));
    server.write_all(&buf.to_ascii_uppercase())?;
    client.read_exact(&mut buf)?;
    println!("client got: {}", String::from_utf8_lossy(&buf));

    // 1 MiB in 16 KiB chunks, each read before the next is written (one
    // thread: the sender must never outrun the kernel's buffers).
    let mut sum = 0xcbf2_9ce4_8422_2325u64; // FNV-1a
    let mut chunk = vec![0u8; 16 << 10];
    for i in 0..64u64 {
        let out: Vec<u8> = (0..chunk.len() as u64).map(|j| (i * 7 + j) as u8).collect();
        client.write_all(&out)?;
        server.read_exact(&mut chunk)?;
        sum = chunk.iter().fold(sum, |s, &b| {
            (s ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    }
    println!("1 MiB through, checksum {sum:016x}");

    client.shutdown(Shutdown::Write)?;
    let mut rest = Vec::new();
    server.read_to_end(&mut rest)?;
    println!("server saw the end after {} more bytes", rest.len());
    server.write_all(b"bye")?;
    drop(server);
    let mut rest = Vec::new();
    client.read_to_end(&mut rest)?;
    println!(
        "client got {:?} and the end",
        String::from_utf8_lossy(&rest)
    );

    client.set_ttl(42)?;
    println!("ttl: {}", client.ttl()?);

    listener.set_nonblocking(true)?;
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {
            println!("accept with nothing pending: would block")
        }
        Err(e) => return Err(e),
        Ok(_) => println!("accept with nothing pending: a connection?"),
    }
    Ok(())
}

fn udp() -> io::Result<()> {
    let a = UdpSocket::bind("127.0.0.1:0")?;
    let b = UdpSocket::bind("127.0.0.1:0")?;
    let (a_addr, b_addr) = (a.local_addr()?, b.local_addr()?);
    a.send_to(b"ping", b_addr)?;
    let mut buf = [0u8; 64];
    let (n, from) = b.recv_from(&mut buf)?;
    println!(
        "b got {:?} from a: {}",
        String::from_utf8_lossy(&buf[..n]),
        from == a_addr
    );

    b.connect(a_addr)?;
    println!("b's peer is a: {}", b.peer_addr()? == a_addr);
    for msg in [&b"one"[..], b"two two", b"three three three"] {
        b.send(msg)?;
    }
    for _ in 0..3 {
        let (n, from) = a.recv_from(&mut buf)?;
        println!(
            "a got {} bytes {:?} from b: {}",
            n,
            String::from_utf8_lossy(&buf[..n]),
            from == b_addr
        );
    }

    a.set_nonblocking(true)?;
    match a.recv_from(&mut buf) {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {
            println!("receive with nothing pending: would block")
        }
        Err(e) => return Err(e),
        Ok(_) => println!("receive with nothing pending: a datagram?"),
    }
    Ok(())
}

fn lookup() -> io::Result<()> {
    let addrs: Vec<IpAddr> = ("localhost", 80)
        .to_socket_addrs()?
        .map(|a| a.ip())
        .collect();
    println!(
        "localhost resolves to 127.0.0.1: {}",
        addrs.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST))
    );
    Ok(())
}
