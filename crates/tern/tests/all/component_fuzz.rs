//! Seeded random checks of the canonical ABI (`component_gen.rs` makes the
//! types and values): random values of random types round-trip through the
//! relay component in every string encoding; and random, mostly invalid,
//! core values and memory contents are lifted in both directions (as an
//! export's result, and as a host import's arguments), where the only
//! acceptable outcomes are a value or a trap — never a panic or a crash.
//! Random resource-carrying signatures carry handles both ways: host to
//! guest (`random_resource_signatures`) and guest to host, through an
//! import's parameters and an export's results
//! (`random_guest_produced_resources`).
//! `TERN_COMPONENT_FUZZ_SEEDS=n` runs more seeds than CI does.

use super::component_abi::{engine, relay_dynamic};
use super::component_gen::{same, Flat, Rng, ENCODINGS};
use tern::component::{Component, ComponentTrap, Linker, Val};
use tern::{Store, Trap};

fn seeds(default: u64) -> u64 {
    std::env::var("TERN_COMPONENT_FUZZ_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[test]
fn random_values_round_trip() {
    let engine = engine();
    for seed in 0..seeds(60) {
        let mut rng = Rng::new(seed);
        let ty = rng.ty(3);
        let enc = ENCODINGS[rng.below(3) as usize];
        for _ in 0..3 {
            let v = rng.val(&ty);
            let (out, seen) = relay_dynamic(&engine, &ty, &v, enc, enc)
                .unwrap_or_else(|e| panic!("seed {seed}: {ty:?} {v}: {e:?}"));
            assert!(same(&out, &v), "seed {seed}: {ty:?}: sent {v}, got {out}");
            assert!(
                same(&seen, &v),
                "seed {seed}: {ty:?}: sent {v}, the import saw {seen}"
            );
        }
    }
}

/// A random core value of type `f`: small in-range numbers, pointers near
/// the random data, or anything.
fn core_const(rng: &mut Rng, f: Flat) -> String {
    let bits = match rng.below(4) {
        0 => rng.below(4),
        1 => rng.below(300),
        2 => 65536 - rng.below(16),
        _ => rng.next(),
    };
    match f {
        Flat::I32 => format!("(i32.const {})", bits as u32 as i32),
        Flat::I64 => format!("(i64.const {})", bits as i64),
        Flat::F32 => format!(
            "(f32.const {})",
            finite(f64::from(f32::from_bits(bits as u32))) as f32
        ),
        Flat::F64 => format!("(f64.const {})", finite(f64::from_bits(bits))),
    }
}

/// `v` as a finite float that WAT can spell (NaN becomes 0).
fn finite(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-1e30, 1e30)
    }
}

/// 512 random bytes, as a data segment string.
fn random_data(rng: &mut Rng) -> String {
    (0..512)
        .map(|_| {
            let b = match rng.below(4) {
                0 => 0,
                1 => rng.below(8) as u8,
                _ => rng.next() as u8,
            };
            format!("\\{b:02x}")
        })
        .collect()
}

fn is_trap(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| c.downcast_ref::<ComponentTrap>().is_some() || c.downcast_ref::<Trap>().is_some())
}

#[test]
fn random_invalid_values_trap_or_lift() {
    let engine = engine();
    let (mut lifted, mut trapped) = (0, 0);
    for seed in 0..seeds(60) {
        let mut rng = Rng::new(1_000_000 + seed);
        let ty = rng.ty(3);
        let flat = ty.flat();
        let enc = ENCODINGS[rng.below(3) as usize];
        let mut defs = Vec::new();
        let t = ty.wat(&mut defs);
        let data = random_data(&mut rng);
        let (result, ret) = if flat.len() > 1 {
            ("i32".to_string(), core_const(&mut rng, Flat::I32))
        } else {
            (flat[0].wat().to_string(), core_const(&mut rng, flat[0]))
        };
        let params: Vec<Flat> = if flat.len() > 16 {
            vec![Flat::I32]
        } else {
            flat.clone()
        };
        let h_params: String = params.iter().map(|f| format!(" {}", f.wat())).collect();
        let args: String = params
            .iter()
            .map(|f| core_const(&mut rng, *f))
            .collect::<Vec<_>>()
            .join(" ");
        let wat = format!(
            r#"(component
  {defs}
  (import "h" (func $h (param "x" {t})))
  (core module $Mem
    (memory (export "mem") 1)
    (data (i32.const 0) "{data}")
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 4096)))
  (core instance $mem (instantiate $Mem))
  (core func $h' (canon lower (func $h) (memory (core memory $mem "mem")) (realloc (core func $mem "realloc")) {enc}))
  (core module $M
    (import "" "h" (func $h (param{h_params})))
    (func (export "bad") (result {result}) {ret})
    (func (export "go") (call $h {args})))
  (core instance $m (instantiate $M (with "" (instance (export "h" (func $h'))))))
  (func (export "bad") (result {t})
    (canon lift (core func $m "bad") (memory (core memory $mem "mem")) (realloc (core func $mem "realloc")) {enc}))
  (func (export "go") (canon lift (core func $m "go")))
)"#,
            defs = defs.join("\n  ")
        );
        let component =
            Component::new(&engine, &wat).unwrap_or_else(|e| panic!("seed {seed}: {e:?}\n{wat}"));
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker
            .root()
            .func_new("h", |_, params, _| {
                assert_eq!(params.len(), 1);
                Ok(())
            })
            .unwrap();
        let instance = linker.instantiate(&mut store, &component).unwrap();
        let bad = instance.get_func(&mut store, "bad").unwrap();
        let mut out = [Val::Bool(false)];
        match bad.call(&mut store, &[], &mut out) {
            Ok(()) => lifted += 1,
            Err(e) if is_trap(&e) => trapped += 1,
            Err(e) => panic!("seed {seed}: lifting a result failed without a trap: {e:?}"),
        }
        // A trap poisons the instance, so the other direction gets a fresh one.
        let instance = linker.instantiate(&mut store, &component).unwrap();
        let go = instance.get_func(&mut store, "go").unwrap();
        match go.call(&mut store, &[], &mut []) {
            Ok(()) => lifted += 1,
            Err(e) if is_trap(&e) => trapped += 1,
            Err(e) => panic!("seed {seed}: lifting arguments failed without a trap: {e:?}"),
        }
    }
    println!("random invalid values: {lifted} lifted, {trapped} trapped");
    // Both outcomes must actually occur, or the generator tests nothing.
    assert!(
        lifted > 10 && trapped > 10,
        "lifted {lifted}, trapped {trapped}"
    );
}

#[test]
fn generator_types_flatten_like_tern() {
    // The generator's flattening and Tern's agree: the relay, whose core
    // signatures come from the generator, validates for every random type.
    let engine = engine();
    for seed in 0..seeds(40) {
        let ty = Rng::new(2_000_000 + seed).ty(4);
        let wat = super::component_gen::relay_component(&ty, ENCODINGS[0], ENCODINGS[0]);
        Component::new(&engine, &wat).unwrap_or_else(|e| panic!("seed {seed}: {ty:?}: {e:#}"));
    }
}

/// The host resource of `random_resource_signatures`.
struct Hr;

/// Store data of `random_resource_signatures`: reps the host destructor got.
#[derive(Default)]
struct Drops(Vec<u32>);

/// A random value of resource-carrying type `t`: handles are made here
/// (host ones from a counter, guest ones by the component's `make`); counts
/// the handles sent, records the reps of owned host resources (whose
/// destructor must run) and keeps the guest resources lent as borrows (the
/// host drops them after the call).
struct Sent {
    handles: u32,
    host_owned: Vec<u32>,
    guest_made: u32,
    lent: Vec<tern::component::ResourceAny>,
    next_rep: u32,
}

fn resource_val(
    rng: &mut Rng,
    t: &super::component_gen::RTy,
    store: &mut Store<Drops>,
    make: &tern::component::Func,
    sent: &mut Sent,
) -> Val {
    use super::component_gen::RTy;
    use tern::component::Resource;
    let mut rep = || {
        sent.next_rep += 1;
        sent.next_rep
    };
    match t {
        RTy::U32 => Val::U32(rng.next() as u32),
        RTy::OwnH | RTy::BorrowH => {
            let r = rep();
            sent.handles += 1;
            let res = if *t == RTy::OwnH {
                sent.host_owned.push(r);
                Resource::<Hr>::new_own(r)
            } else {
                Resource::<Hr>::new_borrow(r)
            };
            Val::Resource(res.try_into_resource_any(&mut *store).unwrap())
        }
        RTy::OwnG | RTy::BorrowG => {
            let r = rep();
            sent.handles += 1;
            sent.guest_made += 1;
            let mut out = [Val::Bool(false)];
            make.call(&mut *store, &[Val::U32(r)], &mut out).unwrap();
            let Val::Resource(any) = out[0].clone() else {
                panic!("make returns a resource")
            };
            if *t == RTy::BorrowG {
                sent.lent.push(any);
            }
            Val::Resource(any)
        }
        RTy::Option(inner) => Val::Option(
            rng.chance(50)
                .then(|| Box::new(resource_val(rng, inner, store, make, sent))),
        ),
        RTy::Record(ts) => Val::Record(
            ts.iter()
                .enumerate()
                .map(|(i, t)| (format!("f{i}"), resource_val(rng, t, store, make, sent)))
                .collect(),
        ),
    }
}

#[test]
fn random_resource_signatures() {
    use tern::component::ResourceType;
    let engine = engine();
    let mut handles_sent = 0;
    for seed in 0..seeds(30) {
        let mut rng = Rng::new(3_000_000 + seed);
        let mut params = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let t = rng.rty(2);
            let total: usize = params.iter().map(super::component_gen::RTy::flat_len).sum();
            if total + t.flat_len() <= 16 {
                params.push(t);
            }
        }
        let wat = super::component_gen::resource_relay_component(&params);
        let component =
            Component::new(&engine, &wat).unwrap_or_else(|e| panic!("seed {seed}: {e:?}\n{wat}"));
        let mut linker = Linker::<Drops>::new(&engine);
        linker
            .root()
            .resource("hr", ResourceType::host::<Hr>(), |mut store, rep| {
                store.data_mut().0.push(rep);
                Ok(())
            })
            .unwrap();
        let mut store = Store::new(&engine, Drops::default());
        let instance = linker.instantiate(&mut store, &component).unwrap();
        let make = instance.get_func(&mut store, "make").unwrap();
        let mut sent = Sent {
            handles: 0,
            host_owned: Vec::new(),
            guest_made: 0,
            lent: Vec::new(),
            next_rep: 0,
        };
        let args: Vec<Val> = params
            .iter()
            .map(|t| resource_val(&mut rng, t, &mut store, &make, &mut sent))
            .collect();
        let run = instance.get_func(&mut store, "run").unwrap();
        let mut out = [Val::Bool(false)];
        run.call(&mut store, &args, &mut out)
            .unwrap_or_else(|e| panic!("seed {seed}: {params:?}: {e:#}"));
        // The guest dropped every handle it got, exactly once.
        assert_eq!(out[0], Val::U32(sent.handles), "seed {seed}: {params:?}");
        let mut dropped = store.data().0.clone();
        dropped.sort_unstable();
        assert_eq!(dropped, sent.host_owned, "seed {seed}: {params:?}");
        for any in sent.lent {
            any.resource_drop(&mut store).unwrap();
        }
        let dtors = instance.get_func(&mut store, "dtors").unwrap();
        dtors.call(&mut store, &[], &mut out).unwrap();
        assert_eq!(out[0], Val::U32(sent.guest_made), "seed {seed}: {params:?}");
        handles_sent += sent.handles;
    }
    assert!(handles_sent > 30, "only {handles_sent} handles were sent");
}

/// Store data of `random_guest_produced_resources`: what `h` should get,
/// and what the host saw.
#[derive(Default)]
struct Received {
    /// The values `h` must receive.
    want: Vec<super::component_gen::GVal>,
    /// Reps the host destructor got, in order.
    dtor: Vec<u32>,
    /// Handles received, with the leaf type and rep each must have.
    handles: Vec<(tern::component::ResourceAny, super::component_gen::RTy, u32)>,
    /// Times `h` was called.
    calls: u32,
}

/// Checks that `got` has the shape and numbers of `want`, and collects its
/// handles with the leaf type and rep each should have.
fn receive(
    got: &Val,
    want: &super::component_gen::GVal,
    out: &mut Vec<(tern::component::ResourceAny, super::component_gen::RTy, u32)>,
) -> anyhow::Result<()> {
    use super::component_gen::GVal;
    match (got, want) {
        (Val::U32(a), GVal::U32(b)) if a == b => {}
        (Val::Resource(any), GVal::Handle(kind, rep)) => out.push((*any, kind.clone(), *rep)),
        (Val::Option(None), GVal::Option(None)) => {}
        (Val::Option(Some(v)), GVal::Option(Some(w))) => receive(v, w, out)?,
        (Val::Record(fs), GVal::Record(ws)) if fs.len() == ws.len() => {
            for ((_, v), w) in fs.iter().zip(ws) {
                receive(v, w, out)?;
            }
        }
        _ => anyhow::bail!("received {got}, expected {want:?}"),
    }
    Ok(())
}

#[test]
fn random_guest_produced_resources() {
    use super::component_gen::{guest_producer_component, RTy};
    use tern::component::{Resource, ResourceType};
    let engine = engine();
    let host_ty = ResourceType::host::<Hr>();
    let (mut handles_checked, mut borrows_checked) = (0, 0);
    for seed in 0..seeds(30) {
        let mut rng = Rng::new(4_000_000 + seed);
        let mut next_rep = 0;
        // `h`'s parameters: host handles, at most 16 flat i32s.
        let mut params = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let t = rng.rty_of(2, &[RTy::U32, RTy::OwnH, RTy::BorrowH]);
            let total: usize = params.iter().map(RTy::flat_len).sum();
            if total + t.flat_len() <= 16 {
                params.push(t);
            }
        }
        let args: Vec<_> = params.iter().map(|t| rng.gval(t, &mut next_rep)).collect();
        // `run`'s results: owned host and guest handles (never borrows).
        let rets_ty: Vec<RTy> = (0..1 + rng.below(3))
            .map(|_| rng.rty_of(2, &[RTy::U32, RTy::OwnH, RTy::OwnG]))
            .collect();
        let rets: Vec<_> = rets_ty.iter().map(|t| rng.gval(t, &mut next_rep)).collect();
        let ctx = format!("seed {seed}: h{params:?} -> {rets_ty:?}");
        let wat = guest_producer_component(&params, &args, &rets_ty, &rets);
        let component =
            Component::new(&engine, &wat).unwrap_or_else(|e| panic!("{ctx}: {e:?}\n{wat}"));
        let mut linker = Linker::<Received>::new(&engine);
        let mut root = linker.root();
        root.resource("hr", host_ty, |mut store, rep| {
            store.data_mut().dtor.push(rep);
            Ok(())
        })
        .unwrap();
        root.func_wrap("mkh", |_, (rep,): (u32,)| {
            Ok((Resource::<Hr>::new_own(rep),))
        })
        .unwrap();
        root.func_new("h", move |mut store, params, _| {
            let data = store.data_mut();
            data.calls += 1;
            anyhow::ensure!(
                params.len() == data.want.len(),
                "{} parameters",
                params.len()
            );
            let mut got = Vec::new();
            for (v, w) in params.iter().zip(&data.want) {
                receive(v, w, &mut got)?;
            }
            // A borrow must be readable during the call only: check its rep
            // now (owned handles are checked after `run`).
            for &(any, ref kind, rep) in &got {
                if *kind == RTy::BorrowH {
                    anyhow::ensure!(
                        any.ty() == host_ty && !any.owned(),
                        "{any:?} for borrow {rep}"
                    );
                    let r = any.try_into_resource::<Hr>(&mut store)?;
                    anyhow::ensure!(
                        r.rep() == rep && !r.owned(),
                        "borrow {rep} arrived as {}",
                        r.rep()
                    );
                }
            }
            store.data_mut().handles.extend(got);
            Ok(())
        })
        .unwrap();
        let mut store = Store::new(
            &engine,
            Received {
                want: args.clone(),
                ..Received::default()
            },
        );
        let instance = linker.instantiate(&mut store, &component).unwrap();
        // The guest resource type, from a handle of rep 0 (mask bit 0).
        let make = instance.get_func(&mut store, "make").unwrap();
        let mut out = [Val::Bool(false)];
        make.call(&mut store, &[Val::U32(0)], &mut out).unwrap();
        let Val::Resource(probe) = out[0] else {
            panic!("make returns a resource")
        };
        let guest_ty = probe.ty();
        assert_ne!(guest_ty, host_ty);
        probe.resource_drop(&mut store).unwrap();
        let dropped = instance.get_func(&mut store, "dropped").unwrap();
        let mask = |store: &mut Store<Received>| {
            let mut out = [Val::Bool(false)];
            dropped.call(&mut *store, &[], &mut out).unwrap();
            match out[0] {
                Val::U64(m) => m,
                ref v => panic!("dropped returned {v}"),
            }
        };
        assert_eq!(mask(&mut store), 1, "{ctx}");

        let run = instance.get_func(&mut store, "run").unwrap();
        run.call(&mut store, &[], &mut out)
            .unwrap_or_else(|e| panic!("{ctx}: {e:#}"));
        assert_eq!(store.data().calls, 1, "{ctx}");
        let Val::Tuple(results) = &out[0] else {
            panic!("{ctx}: run returned {}", out[0])
        };
        assert_eq!(results.len(), rets.len(), "{ctx}");
        let mut got = std::mem::take(&mut store.data_mut().handles);
        for (v, w) in results.iter().zip(&rets) {
            receive(v, w, &mut got).unwrap_or_else(|e| panic!("{ctx}: {e:#}"));
        }
        // Every handle: the right type, own vs borrow, and rep; owned ones
        // are dropped by the host (or taken out of the table with
        // `try_into_resource`) exactly once, borrows are stale after `h`.
        let mut want_host_dtor = Vec::new();
        let mut want_mask = 1u64;
        for (any, kind, rep) in got {
            let c = format!("{ctx}: {kind:?} rep {rep}");
            handles_checked += 1;
            match kind {
                RTy::BorrowH => {
                    borrows_checked += 1;
                    // The guest dropped its own handle after `h` returned.
                    want_host_dtor.push(rep);
                    assert!(
                        any.try_into_resource::<Hr>(&mut store).is_err(),
                        "{c}: borrow outlived its call"
                    );
                }
                RTy::OwnH => {
                    assert!(any.ty() == host_ty && any.owned(), "{c}: {any:?}");
                    if rng.chance(50) {
                        any.resource_drop(&mut store)
                            .unwrap_or_else(|e| panic!("{c}: {e:#}"));
                        want_host_dtor.push(rep);
                    } else {
                        let r = any.try_into_resource::<Hr>(&mut store).unwrap();
                        assert!(r.owned() && r.rep() == rep, "{c}: got rep {}", r.rep());
                    }
                    assert!(any.resource_drop(&mut store).is_err(), "{c}: dropped twice");
                }
                RTy::OwnG => {
                    assert!(any.ty() == guest_ty && any.owned(), "{c}: {any:?}");
                    any.resource_drop(&mut store)
                        .unwrap_or_else(|e| panic!("{c}: {e:#}"));
                    want_mask |= 1 << rep;
                    // The guest destructor ran for exactly this rep.
                    assert_eq!(mask(&mut store), want_mask, "{c}");
                    assert!(any.resource_drop(&mut store).is_err(), "{c}: dropped twice");
                }
                k => panic!("{c}: unexpected kind {k:?}"),
            }
        }
        let mut dtor = store.data().dtor.clone();
        dtor.sort_unstable();
        want_host_dtor.sort_unstable();
        assert_eq!(dtor, want_host_dtor, "{ctx}");
        assert_eq!(mask(&mut store), want_mask, "{ctx}");
    }
    println!("guest-produced values: {handles_checked} handles checked, {borrows_checked} of them borrows");
    assert!(
        handles_checked > 30 && borrows_checked > 5,
        "only {handles_checked} handles ({borrows_checked} borrows) were checked"
    );
}
