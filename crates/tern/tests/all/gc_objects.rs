//! Garbage collection, phase 2, through the public API: structs and arrays
//! allocated and accessed by wasm (packed, `v128` and reference fields),
//! casts along a subtype chain, the spec's null and bounds traps, a full
//! heap trapping cleanly under a store limit, host allocation and field
//! access (`StructRef`, `ArrayRef`), `any.convert_extern`/`extern.convert_any`
//! round trips, and GC modules through serialized artifacts.

use tern::*;

fn gc_engine() -> Engine {
    let mut config = Config::new();
    config.wasm_gc(true);
    Engine::new(&config).expect("GC is implemented")
}

/// Instantiates `wat` in a fresh store of `engine`.
fn instance(engine: &Engine, wat: &str) -> Result<(Store<()>, Instance)> {
    let module = Module::new(engine, wat)?;
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    Ok((store, instance))
}

/// Calls export `name` with `args`, returning its results.
fn call(store: &mut Store<()>, instance: &Instance, name: &str, args: &[Val]) -> Result<Vec<Val>> {
    let func = instance
        .get_func(&mut *store, name)
        .unwrap_or_else(|| panic!("no export {name}"));
    let ty = func.ty(&*store);
    let mut out: Vec<Val> = ty
        .results()
        .map(|t| Val::default_for_ty(t).unwrap_or(Val::I32(0)))
        .collect();
    func.call(&mut *store, args, &mut out)?;
    Ok(out)
}

fn i32_of(vals: &[Val]) -> i32 {
    vals[0].unwrap_i32()
}

fn trap_of(err: &Error) -> Option<Trap> {
    err.downcast_ref::<Trap>().copied()
}

const STRUCTS: &str = r#"(module
    (type $inner (struct (field $v (mut i32))))
    (type $ft (func (result i32)))
    (type $s (struct
        (field $a (mut i8)) (field $b (mut i16)) (field $c (mut i64))
        (field $d (mut v128)) (field $e (mut (ref null $inner))) (field $f (mut funcref))
        (field $g f64)))
    (global $keep (mut (ref null $s)) (ref.null $s))
    (func $seven (type $ft) (i32.const 7))
    (elem declare func $seven)
    (func (export "make") (param i32 i32 i64)
        (global.set $keep (struct.new $s
            (local.get 0) (local.get 1) (local.get 2)
            (v128.const i32x4 1 2 3 4)
            (struct.new $inner (i32.const 41))
            (ref.func $seven)
            (f64.const 2.5))))
    (func (export "a_s") (result i32) (struct.get_s $s $a (global.get $keep)))
    (func (export "a_u") (result i32) (struct.get_u $s $a (global.get $keep)))
    (func (export "b_s") (result i32) (struct.get_s $s $b (global.get $keep)))
    (func (export "b_u") (result i32) (struct.get_u $s $b (global.get $keep)))
    (func (export "c") (result i64) (struct.get $s $c (global.get $keep)))
    (func (export "d2") (result i32) (i32x4.extract_lane 2 (struct.get $s $d (global.get $keep))))
    (func (export "g") (result f64) (struct.get $s $g (global.get $keep)))
    (func (export "inner") (result i32) (struct.get $inner $v (struct.get $s $e (global.get $keep))))
    (func (export "bump_inner")
        (struct.set $inner $v (struct.get $s $e (global.get $keep))
            (i32.add (i32.const 1) (struct.get $inner $v (struct.get $s $e (global.get $keep))))))
    (func (export "call_f") (result i32)
        (call_ref $ft (ref.cast (ref $ft) (struct.get $s $f (global.get $keep)))))
    (func (export "set_a") (param i32) (struct.set $s $a (global.get $keep) (local.get 0)))
    (func (export "default_c") (result i64) (struct.get $s $c (struct.new_default $s)))
    (func (export "null_get") (result i32) (struct.get $inner $v (ref.null $inner)))
    (func (export "keep") (result (ref null $s)) (global.get $keep)))"#;

#[test]
fn struct_fields_of_every_storage_type() -> Result<()> {
    let engine = gc_engine();
    let (mut store, inst) = instance(&engine, STRUCTS)?;
    let s = &mut store;
    call(
        s,
        &inst,
        "make",
        &[Val::I32(0x1ff), Val::I32(0x18001), Val::I64(-3)],
    )?;
    // Packed fields keep the low bits and extend as asked.
    assert_eq!(i32_of(&call(s, &inst, "a_s", &[])?), -1);
    assert_eq!(i32_of(&call(s, &inst, "a_u", &[])?), 0xff);
    assert_eq!(i32_of(&call(s, &inst, "b_s", &[])?), -32767);
    assert_eq!(i32_of(&call(s, &inst, "b_u", &[])?), 0x8001);
    assert_eq!(call(s, &inst, "c", &[])?[0].unwrap_i64(), -3);
    assert_eq!(i32_of(&call(s, &inst, "d2", &[])?), 3);
    assert_eq!(call(s, &inst, "g", &[])?[0].unwrap_f64(), 2.5);
    // A nested struct is shared, not copied.
    assert_eq!(i32_of(&call(s, &inst, "inner", &[])?), 41);
    call(s, &inst, "bump_inner", &[])?;
    assert_eq!(i32_of(&call(s, &inst, "inner", &[])?), 42);
    assert_eq!(i32_of(&call(s, &inst, "call_f", &[])?), 7);
    call(s, &inst, "set_a", &[Val::I32(0x80)])?;
    assert_eq!(i32_of(&call(s, &inst, "a_s", &[])?), -128);
    assert_eq!(call(s, &inst, "default_c", &[])?[0].unwrap_i64(), 0);
    let err = call(s, &inst, "null_get", &[]).expect_err("null struct");
    assert_eq!(trap_of(&err), Some(Trap::NullStructReference));
    assert!(
        format!("{err:#}").contains("null structure reference"),
        "{err:#}"
    );

    // The host reads the same object through a `StructRef`.
    let Val::AnyRef(Some(any)) = call(s, &inst, "keep", &[])?[0] else {
        panic!("expected a struct");
    };
    assert!(any.is_struct(&*s)?);
    assert!(!any.is_array(&*s)?);
    let st = any.as_struct(&*s)?.expect("a struct");
    assert_eq!(st.field(&mut *s, 0)?.unwrap_i32(), 0x80);
    assert_eq!(st.field(&mut *s, 2)?.unwrap_i64(), -3);
    assert_eq!(
        st.field(&mut *s, 3)?.unwrap_v128(),
        0x0000_0004_0000_0003_0000_0002_0000_0001
    );
    st.set_field(&mut *s, 2, Val::I64(99))?;
    assert_eq!(call(s, &inst, "c", &[])?[0].unwrap_i64(), 99);
    assert!(
        st.set_field(&mut *s, 6, Val::F64(1f64.to_bits())).is_err(),
        "immutable field"
    );
    assert!(st.set_field(&mut *s, 2, Val::I32(1)).is_err(), "wrong type");
    assert!(st.field(&mut *s, 7).is_err(), "no such field");
    Ok(())
}

const ARRAYS: &str = r#"(module
    (type $bytes (array (mut i8)))
    (type $longs (array (mut i64)))
    (type $refs (array (mut (ref null $bytes))))
    (type $funcs (array funcref))
    (type $ft (func (result i32)))
    (data $d "\01\02\03\04\05\06\07\08")
    (func $f1 (type $ft) (i32.const 1))
    (elem $e func $f1 $f1)
    (func (export "new") (param i32 i32) (result i32)
        (array.len (array.new $bytes (local.get 0) (local.get 1))))
    (func (export "sum_new") (param i64 i32) (result i64)
        (local $a (ref $longs)) (local $i i32) (local $sum i64)
        (local.set $a (array.new $longs (local.get 0) (local.get 1)))
        (block $done (loop $l
            (br_if $done (i32.ge_u (local.get $i) (array.len (local.get $a))))
            (local.set $sum (i64.add (local.get $sum) (array.get $longs (local.get $a) (local.get $i))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l)))
        (local.get $sum))
    (func (export "fixed") (param i32) (result i32)
        (array.get_s $bytes (array.new_fixed $bytes 3 (i32.const 10) (i32.const 200) (i32.const 30))
            (local.get 0)))
    (func (export "data") (param i32 i32) (result i64)
        (array.get $longs (array.new_data $longs $d (local.get 0) (i32.const 1)) (local.get 1)))
    (func (export "elem") (param i32) (result i32)
        (call_ref $ft (ref.cast (ref $ft)
            (array.get $funcs (array.new_elem $funcs $e (i32.const 0) (i32.const 2)) (local.get 0)))))
    (func (export "fill_copy") (result i32)
        (local $a (ref $bytes)) (local $b (ref $bytes))
        (local.set $a (array.new_default $bytes (i32.const 8)))
        (array.fill $bytes (local.get $a) (i32.const 2) (i32.const 7) (i32.const 4))
        (local.set $b (array.new $bytes (i32.const 1) (i32.const 8)))
        (array.copy $bytes $bytes (local.get $b) (i32.const 1) (local.get $a) (i32.const 0) (i32.const 7))
        (array.init_data $bytes $d (local.get $a) (i32.const 0) (i32.const 6) (i32.const 2))
        ;; a = 07 08 07 07 07 07 00 00, b = 01 00 00 07 07 07 07 00
        (i32.add
            (i32.mul (i32.const 256) (array.get_u $bytes (local.get $a) (i32.const 1)))
            (i32.add (i32.mul (i32.const 16) (array.get_u $bytes (local.get $b) (i32.const 6)))
                (array.get_u $bytes (local.get $b) (i32.const 7)))))
    (func (export "nested") (result i32)
        (local $r (ref $refs))
        (local.set $r (array.new_default $refs (i32.const 2)))
        (array.set $refs (local.get $r) (i32.const 1) (array.new_fixed $bytes 1 (i32.const 9)))
        (array.get_u $bytes (array.get $refs (local.get $r) (i32.const 1)) (i32.const 0)))
    (func (export "oob_get") (param i32) (result i32)
        (array.get_u $bytes (array.new_default $bytes (i32.const 4)) (local.get 0)))
    (func (export "oob_fill") (param i32 i32)
        (array.fill $bytes (array.new_default $bytes (i32.const 4)) (local.get 0) (i32.const 0) (local.get 1)))
    (func (export "oob_data") (param i32)
        (drop (array.new_data $bytes $d (local.get 0) (i32.const 4))))
    (func (export "null_len") (result i32) (array.len (ref.null $bytes)))
    (func (export "null_elem") (result i32)
        (array.get_u $bytes (array.get $refs (array.new_default $refs (i32.const 1)) (i32.const 0)) (i32.const 0)))
    (func (export "make") (param i32) (result (ref $bytes))
        (array.new_data $bytes $d (i32.const 0) (local.get 0))))"#;

#[test]
fn array_operators() -> Result<()> {
    let engine = gc_engine();
    let (mut store, inst) = instance(&engine, ARRAYS)?;
    let s = &mut store;
    assert_eq!(
        i32_of(&call(s, &inst, "new", &[Val::I32(1), Val::I32(1000)])?),
        1000
    );
    assert_eq!(
        call(s, &inst, "sum_new", &[Val::I64(3), Val::I32(100)])?[0].unwrap_i64(),
        300
    );
    assert_eq!(i32_of(&call(s, &inst, "fixed", &[Val::I32(1)])?), -56);
    assert_eq!(
        call(s, &inst, "data", &[Val::I32(0), Val::I32(0)])?[0].unwrap_i64(),
        0x0807_0605_0403_0201
    );
    assert_eq!(i32_of(&call(s, &inst, "elem", &[Val::I32(1)])?), 1);
    assert_eq!(i32_of(&call(s, &inst, "fill_copy", &[])?), 0x870);
    assert_eq!(i32_of(&call(s, &inst, "nested", &[])?), 9);

    for (name, args, trap) in [
        ("oob_get", vec![Val::I32(4)], Trap::ArrayOutOfBounds),
        ("oob_get", vec![Val::I32(-1)], Trap::ArrayOutOfBounds),
        (
            "oob_fill",
            vec![Val::I32(1), Val::I32(4)],
            Trap::ArrayOutOfBounds,
        ),
        (
            "oob_fill",
            vec![Val::I32(-1), Val::I32(2)],
            Trap::ArrayOutOfBounds,
        ),
        ("oob_data", vec![Val::I32(5)], Trap::MemoryOutOfBounds),
        ("null_len", vec![], Trap::NullArrayReference),
        ("null_elem", vec![], Trap::NullArrayReference),
    ] {
        let err = call(s, &inst, name, &args).expect_err(name);
        assert_eq!(trap_of(&err), Some(trap), "{name} {args:?}: {err:#}");
    }
    // Out of bounds at the end is fine when nothing is touched.
    call(s, &inst, "oob_fill", &[Val::I32(4), Val::I32(0)])?;

    // The host reads and writes the elements through an `ArrayRef`.
    let Val::AnyRef(Some(any)) = call(s, &inst, "make", &[Val::I32(3)])?[0] else {
        panic!("expected an array");
    };
    let arr = any.as_array(&*s)?.expect("an array");
    assert_eq!(arr.len(&*s)?, 3);
    assert_eq!(arr.get(&mut *s, 2)?.unwrap_i32(), 3);
    arr.set(&mut *s, 2, Val::I32(0x1ff))?;
    assert_eq!(
        arr.get(&mut *s, 2)?.unwrap_i32(),
        0xff,
        "packed elements keep 8 bits"
    );
    assert!(arr.get(&mut *s, 3).is_err(), "out of bounds");
    Ok(())
}

#[test]
fn casts_follow_the_declared_subtype_chain() -> Result<()> {
    let engine = gc_engine();
    let (mut store, inst) = instance(
        &engine,
        r#"(module
            (type $a (sub (struct (field i32))))
            (type $b (sub $a (struct (field i32) (field i64))))
            (type $c (sub final $b (struct (field i32) (field i64) (field f32))))
            (type $arr (array i8))
            (func $make (param i32) (result anyref)
                (if (result anyref) (i32.eqz (local.get 0))
                    (then (struct.new_default $a))
                    (else (if (result anyref) (i32.eq (local.get 0) (i32.const 1))
                        (then (struct.new_default $b))
                        (else (if (result anyref) (i32.eq (local.get 0) (i32.const 2))
                            (then (struct.new_default $c))
                            (else (if (result anyref) (i32.eq (local.get 0) (i32.const 3))
                                (then (array.new_default $arr (i32.const 1)))
                                (else (ref.i31 (i32.const 5)))))))))))
            ;; bit i of the answer: the object made by `make` is a value of the i-th type.
            (func (export "test") (param i32) (result i32)
                (local $r anyref)
                (local.set $r (call $make (local.get 0)))
                (i32.or (i32.or (i32.or
                    (ref.test (ref $a) (local.get $r))
                    (i32.shl (ref.test (ref $b) (local.get $r)) (i32.const 1)))
                    (i32.or (i32.shl (ref.test (ref $c) (local.get $r)) (i32.const 2))
                        (i32.shl (ref.test (ref struct) (local.get $r)) (i32.const 3))))
                    (i32.or (i32.or (i32.shl (ref.test (ref array) (local.get $r)) (i32.const 4))
                        (i32.shl (ref.test (ref eq) (local.get $r)) (i32.const 5)))
                        (i32.or (i32.shl (ref.test (ref i31) (local.get $r)) (i32.const 6))
                            (i32.shl (ref.test (ref $arr) (local.get $r)) (i32.const 7))))))
            (func (export "cast_b") (param i32) (result i32)
                (drop (ref.cast (ref $b) (call $make (local.get 0)))) (i32.const 1))
            (func (export "br_b") (param i32) (result i32)
                (block $yes (result (ref $b))
                    (drop (br_on_cast $yes anyref (ref $b) (call $make (local.get 0))))
                    (return (i32.const 0)))
                (drop) (i32.const 1))
            (func (export "br_fail_b") (param i32) (result i32)
                (block $no (result anyref)
                    (drop (br_on_cast_fail $no anyref (ref $b) (call $make (local.get 0))))
                    (return (i32.const 0)))
                (drop) (i32.const 1)))"#,
    )?;
    let s = &mut store;
    // make 0 = $a, 1 = $b, 2 = $c, 3 = array, 4 = i31.
    let expected = [0b10_1001, 0b10_1011, 0b10_1111, 0b1011_0000, 0b110_0000];
    for (i, want) in expected.iter().enumerate() {
        let got = i32_of(&call(s, &inst, "test", &[Val::I32(i as i32)])?);
        assert_eq!(got, *want, "object {i}: {got:#b}");
        let is_b = i == 1 || i == 2;
        assert_eq!(
            i32_of(&call(s, &inst, "br_b", &[Val::I32(i as i32)])?),
            i32::from(is_b)
        );
        assert_eq!(
            i32_of(&call(s, &inst, "br_fail_b", &[Val::I32(i as i32)])?),
            i32::from(!is_b)
        );
        let cast = call(s, &inst, "cast_b", &[Val::I32(i as i32)]);
        if is_b {
            cast?;
        } else {
            assert_eq!(
                trap_of(&cast.expect_err("cast fails")),
                Some(Trap::CastFailure)
            );
        }
    }
    Ok(())
}

#[test]
fn a_full_heap_traps_cleanly_under_a_store_limit() -> Result<()> {
    let engine = gc_engine();
    let module = Module::new(
        &engine,
        r#"(module
            (type $a (array (mut i64)))
            (type $list (struct (field (ref null $list)) (field i64)))
            (global $keep (mut (ref null $list)) (ref.null $list))
            (func (export "grow") (param i32)
                (loop $l
                    (global.set $keep (struct.new $list (global.get $keep) (i64.const 1)))
                    (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
            (func (export "huge") (result i32)
                (array.len (array.new_default $a (i32.const 0x7fffffff)))))"#,
    )?;
    let mut store = Store::new(
        &engine,
        StoreLimitsBuilder::new().memory_size(1 << 20).build(),
    );
    store.limiter(|l| l);
    let instance = Instance::new(&mut store, &module, &[])?;
    let grow = instance.get_typed_func::<i32, ()>(&mut store, "grow")?;
    // 24-byte nodes: 10,000 fit in 1 MiB, 100,000 do not.
    grow.call(&mut store, 10_000)?;
    let err = grow
        .call(&mut store, 100_000)
        .expect_err("the heap is full");
    assert_eq!(trap_of(&err), Some(Trap::GcHeapOutOfMemory), "{err:#}");
    let huge = instance.get_typed_func::<(), i32>(&mut store, "huge")?;
    let err = huge.call(&mut store, ()).expect_err("16 GiB cannot fit");
    assert_eq!(trap_of(&err), Some(Trap::GcHeapOutOfMemory), "{err:#}");
    // The heap stays full, and says so again rather than crashing.
    let err = grow.call(&mut store, 10).expect_err("still full");
    assert_eq!(trap_of(&err), Some(Trap::GcHeapOutOfMemory), "{err:#}");
    Ok(())
}

#[test]
fn the_host_allocates_structs_and_arrays() -> Result<()> {
    let engine = gc_engine();
    let (mut store, inst) = instance(
        &engine,
        r#"(module
            (type $pair (struct (field (mut i32)) (field i16)))
            (type $bytes (array (mut i8)))
            (func (export "sum") (param (ref $pair)) (result i32)
                (i32.add (struct.get $pair 0 (local.get 0)) (struct.get_s $pair 1 (local.get 0))))
            (func (export "total") (param (ref null $bytes)) (result i32)
                (local $i i32) (local $t i32)
                (block $done (loop $l
                    (br_if $done (i32.ge_u (local.get $i) (array.len (local.get 0))))
                    (local.set $t (i32.add (local.get $t) (array.get_u $bytes (local.get 0) (local.get $i))))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $l)))
                (local.get $t)))"#,
    )?;
    let s = &mut store;
    // A host-made type is the module's identical type (canonicalisation).
    let pair_ty = StructType::new(
        &engine,
        [
            FieldType::new(Mutability::Var, StorageType::ValType(ValType::I32)),
            FieldType::new(Mutability::Const, StorageType::I16),
        ],
    )?;
    let pre = StructRefPre::new(&mut *s, pair_ty.clone());
    let pair = StructRef::new(&mut *s, &pre, &[Val::I32(40), Val::I32(0xffff)])?;
    let arg = Val::AnyRef(Some(pair.to_anyref()));
    assert_eq!(
        i32_of(&call(s, &inst, "sum", std::slice::from_ref(&arg))?),
        39
    );
    pair.set_field(&mut *s, 0, Val::I32(10))?;
    assert_eq!(i32_of(&call(s, &inst, "sum", &[arg])?), 9);
    assert_eq!(pair.ty(&*s)?.fields().len(), 2);
    assert!(
        StructRef::new(&mut *s, &pre, &[Val::I32(1)]).is_err(),
        "too few fields"
    );

    let bytes_ty = ArrayType::new(&engine, FieldType::new(Mutability::Var, StorageType::I8))?;
    let pre = ArrayRefPre::new(&mut *s, bytes_ty);
    let arr = ArrayRef::new(&mut *s, &pre, &Val::I32(3), 5)?;
    assert_eq!(
        i32_of(&call(
            s,
            &inst,
            "total",
            &[Val::AnyRef(Some(arr.to_anyref()))]
        )?),
        15
    );
    let fixed = ArrayRef::new_fixed(&mut *s, &pre, &[Val::I32(1), Val::I32(2), Val::I32(250)])?;
    assert_eq!(
        i32_of(&call(
            s,
            &inst,
            "total",
            &[Val::AnyRef(Some(fixed.to_anyref()))]
        )?),
        253
    );
    // A struct is not an array: the call's type check refuses it.
    let wrong = Val::AnyRef(Some(pair.to_anyref()));
    assert!(call(s, &inst, "total", &[wrong]).is_err());

    // Handles belong to their store.
    let mut other = Store::new(&engine, ());
    assert!(arr.len(&other).is_err());
    assert!(StructRef::new(
        &mut other,
        &StructRefPre::new(&mut *s, pair_ty),
        &[Val::I32(1), Val::I32(2)]
    )
    .is_err());
    Ok(())
}

#[test]
fn extern_and_any_conversions_round_trip() -> Result<()> {
    let engine = gc_engine();
    let (mut store, inst) = instance(
        &engine,
        r#"(module
            (type $s (struct (field i32)))
            (func (export "internalize") (param externref) (result anyref)
                (any.convert_extern (local.get 0)))
            (func (export "externalize") (param anyref) (result externref)
                (extern.convert_any (local.get 0)))
            (func (export "struct_round_trip") (result i32)
                (struct.get $s 0 (ref.cast (ref $s) (any.convert_extern (extern.convert_any
                    (struct.new $s (i32.const 77)))))))
            (func (export "host_is_eq") (param externref) (result i32)
                (ref.test (ref eq) (any.convert_extern (local.get 0))))
            (func (export "host_round_trip") (param externref) (result externref)
                (extern.convert_any (any.convert_extern (local.get 0)))))"#,
    )?;
    let s = &mut store;
    assert_eq!(i32_of(&call(s, &inst, "struct_round_trip", &[])?), 77);
    let host = ExternRef::new(5u32);
    let back = call(
        s,
        &inst,
        "host_round_trip",
        &[Val::ExternRef(Some(host.clone()))],
    )?;
    assert!(back[0].unwrap_externref().expect("non-null").ptr_eq(&host));
    assert_eq!(
        i32_of(&call(
            s,
            &inst,
            "host_is_eq",
            &[Val::ExternRef(Some(host.clone()))]
        )?),
        0
    );
    // An internalized host reference reaches the host as an `AnyRef` that
    // converts back to the very `ExternRef`.
    let Val::AnyRef(Some(any)) = call(
        s,
        &inst,
        "internalize",
        &[Val::ExternRef(Some(host.clone()))],
    )?[0] else {
        panic!("expected an anyref");
    };
    assert!(!any.is_struct(&*s)? && !any.is_i31(&*s)?);
    assert!(ExternRef::convert_any(&mut *s, any)?.ptr_eq(&host));
    // An i31 externalized by wasm comes back to wasm as the same i31.
    let i31 = Val::AnyRef(Some(AnyRef::from_i31(&mut *s, I31::wrapping_u32(9))));
    let ext = call(s, &inst, "externalize", &[i31])?;
    let again = call(s, &inst, "internalize", &ext)?;
    let Val::AnyRef(Some(r)) = again[0] else {
        panic!("expected an i31")
    };
    assert_eq!(r.as_i31(&*s)?.map(I31::get_u32), Some(9));
    Ok(())
}

#[test]
fn gc_modules_run_from_serialized_artifacts() -> Result<()> {
    let engine = gc_engine();
    let bytes = Module::new(&engine, ARRAYS)?.serialize()?;
    // SAFETY: the bytes were just produced by `serialize` with this engine.
    let module = unsafe { Module::deserialize(&engine, &bytes) }?;
    let mut store = Store::new(&engine, ());
    let inst = Instance::new(&mut store, &module, &[])?;
    assert_eq!(i32_of(&call(&mut store, &inst, "fill_copy", &[])?), 0x870);
    assert_eq!(
        call(&mut store, &inst, "sum_new", &[Val::I64(2), Val::I32(10)])?[0].unwrap_i64(),
        20
    );
    Ok(())
}

#[test]
fn constant_expressions_allocate_objects() -> Result<()> {
    let engine = gc_engine();
    let (mut store, inst) = instance(
        &engine,
        r#"(module
            (type $s (struct (field i32) (field (ref null $s))))
            (type $a (array i16))
            (global $g (ref $s) (struct.new $s (i32.const 3) (struct.new_default $s)))
            (global $h (ref $a) (array.new_fixed $a 2 (i32.const 5) (i32.const -1)))
            (global $n (ref $a) (array.new $a (i32.const 4) (i32.const 3)))
            (table $t 2 anyref)
            (elem (table $t) (i32.const 0) anyref (array.new_default $a (i32.const 7)) (ref.i31 (i32.const 1)))
            (func (export "g") (result i32)
                (i32.add (struct.get $s 0 (global.get $g))
                    (struct.get $s 0 (ref.as_non_null (struct.get $s 1 (global.get $g))))))
            (func (export "h") (result i32) (array.get_u $a (global.get $h) (i32.const 1)))
            (func (export "n") (result i32) (i32.add (array.len (global.get $n)) (array.get_s $a (global.get $n) (i32.const 2))))
            (func (export "t") (result i32) (array.len (ref.cast (ref $a) (table.get $t (i32.const 0))))))"#,
    )?;
    let s = &mut store;
    assert_eq!(i32_of(&call(s, &inst, "g", &[])?), 3);
    assert_eq!(i32_of(&call(s, &inst, "h", &[])?), 0xffff);
    assert_eq!(i32_of(&call(s, &inst, "n", &[])?), 7);
    assert_eq!(i32_of(&call(s, &inst, "t", &[])?), 7);
    Ok(())
}

#[test]
fn structs_flow_through_globals_and_tables() -> Result<()> {
    let engine = gc_engine();
    let (mut store, inst) = instance(
        &engine,
        r#"(module
            (type $s (struct (field (mut i32))))
            (global (export "g") (mut (ref null $s)) (ref.null $s))
            (table (export "t") 2 (ref null $s))
            (func (export "from_global") (result i32) (struct.get $s 0 (global.get 0)))
            (func (export "from_table") (param i32) (result i32)
                (struct.get $s 0 (table.get 0 (local.get 0))))
            (func (export "fill_table")
                (table.set 0 (i32.const 0) (struct.new $s (i32.const 21)))))"#,
    )?;
    let s = &mut store;
    let ty = StructType::new(
        &engine,
        [FieldType::new(
            Mutability::Var,
            StorageType::ValType(ValType::I32),
        )],
    )?;
    let pre = StructRefPre::new(&mut *s, ty);
    let obj = StructRef::new(&mut *s, &pre, &[Val::I32(5)])?;
    let global = inst.get_global(&mut *s, "g").expect("global");
    global.set(&mut *s, Val::AnyRef(Some(obj.to_anyref())))?;
    assert_eq!(i32_of(&call(s, &inst, "from_global", &[])?), 5);
    // What the host reads back is the same object.
    let Val::AnyRef(Some(back)) = global.get(&mut *s) else {
        panic!("expected a struct")
    };
    back.as_struct(&*s)?
        .expect("a struct")
        .set_field(&mut *s, 0, Val::I32(6))?;
    assert_eq!(i32_of(&call(s, &inst, "from_global", &[])?), 6);
    // A value of another type is refused.
    let i31 = Val::AnyRef(Some(AnyRef::from_i31(&mut *s, I31::wrapping_u32(1))));
    assert!(global.set(&mut *s, i31).is_err());

    let table = inst.get_table(&mut *s, "t").expect("table");
    table.set(&mut *s, 1, Val::AnyRef(Some(obj.to_anyref())))?;
    assert_eq!(i32_of(&call(s, &inst, "from_table", &[Val::I32(1)])?), 6);
    call(s, &inst, "fill_table", &[])?;
    let Some(Val::AnyRef(Some(made))) = table.get(&mut *s, 0) else {
        panic!("expected a struct")
    };
    let made = made.as_struct(&*s)?.expect("a struct");
    assert_eq!(made.field(&mut *s, 0)?.unwrap_i32(), 21);
    let err = call(s, &inst, "from_table", &[Val::I32(5)]).expect_err("out of bounds");
    assert_eq!(trap_of(&err), Some(Trap::TableOutOfBounds));
    Ok(())
}
