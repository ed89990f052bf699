//! Converting script arguments to [`tern::Val`]s and matching results against
//! expected values and NaN patterns.

use anyhow::{bail, Result};
use tern::{Store, Val};
use wast::core::{NanPattern, WastArgCore, WastRetCore};
use wast::{WastArg, WastRet};

/// The value of an `invoke` argument.
pub(crate) fn arg(store: &mut Store<()>, arg: &WastArg<'_>) -> Result<Val> {
    Ok(match arg {
        WastArg::Core(WastArgCore::I32(v)) => Val::I32(*v),
        WastArg::Core(WastArgCore::I64(v)) => Val::I64(*v),
        WastArg::Core(WastArgCore::F32(v)) => Val::F32(v.bits),
        WastArg::Core(WastArgCore::F64(v)) => Val::F64(v.bits),
        WastArg::Core(WastArgCore::RefNull(heap)) => match heap {
            wast::core::HeapType::Abstract {
                ty: wast::core::AbstractHeapType::Extern,
                ..
            } => Val::ExternRef(None),
            wast::core::HeapType::Abstract { ty, .. } if is_any_hierarchy(ty) => Val::AnyRef(None),
            wast::core::HeapType::Abstract {
                ty: wast::core::AbstractHeapType::Exn | wast::core::AbstractHeapType::NoExn,
                ..
            } => Val::ExnRef(None),
            _ => Val::FuncRef(None),
        },
        WastArg::Core(WastArgCore::V128(v)) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArg::Core(WastArgCore::RefExtern(n)) => Val::ExternRef(Some(tern::ExternRef::new(*n))),
        // A host reference seen as an `anyref` (GC's `ref.host`).
        WastArg::Core(WastArgCore::RefHost(n)) => Val::AnyRef(Some(tern::AnyRef::convert_extern(
            store,
            tern::ExternRef::new(*n),
        )?)),
        other => bail!("unsupported argument {other:?}"),
    })
}

/// Whether an abstract heap type is in the GC `any` hierarchy.
fn is_any_hierarchy(ty: &wast::core::AbstractHeapType) -> bool {
    use wast::core::AbstractHeapType as A;
    matches!(ty, A::Any | A::Eq | A::I31 | A::Struct | A::Array | A::None)
}

/// Checks `actual` against the expected results.
pub(crate) fn match_results(
    store: &mut Store<()>,
    actual: &[Val],
    expected: &[WastRet<'_>],
) -> Result<()> {
    if actual.len() != expected.len() {
        bail!("expected {} results, got {}", expected.len(), actual.len());
    }
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        if !matches_one(store, a, e)? {
            bail!("result {i}: expected {e:?}, got {a:?}");
        }
    }
    Ok(())
}

fn f32_matches(a: u32, p: &NanPattern<wast::token::F32>) -> bool {
    match p {
        NanPattern::CanonicalNan => a & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => a & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(v) => a == v.bits,
    }
}

fn f64_matches(a: u64, p: &NanPattern<wast::token::F64>) -> bool {
    match p {
        NanPattern::CanonicalNan => a & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => a & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        NanPattern::Value(v) => a == v.bits,
    }
}

fn v128_matches(a: u128, p: &wast::core::V128Pattern) -> bool {
    use wast::core::V128Pattern as P;
    let bytes = a.to_le_bytes();
    match p {
        P::I8x16(e) => e.iter().zip(bytes).all(|(e, b)| *e as u8 == b),
        P::I16x8(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| *e as u16 == u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]])),
        P::I32x4(e) => e.iter().enumerate().all(|(i, e)| {
            *e as u32 == u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap())
        }),
        P::I64x2(e) => e.iter().enumerate().all(|(i, e)| {
            *e as u64 == u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().unwrap())
        }),
        P::F32x4(e) => e.iter().enumerate().all(|(i, p)| {
            f32_matches(
                u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap()),
                p,
            )
        }),
        P::F64x2(e) => e.iter().enumerate().all(|(i, p)| {
            f64_matches(
                u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().unwrap()),
                p,
            )
        }),
    }
}

fn matches_one(store: &mut Store<()>, actual: &Val, expected: &WastRet<'_>) -> Result<bool> {
    let WastRet::Core(expected) = expected else {
        bail!("component results are not supported")
    };
    matches_core(store, actual, expected)
}

fn matches_core(store: &mut Store<()>, actual: &Val, expected: &WastRetCore<'_>) -> Result<bool> {
    if let WastRetCore::Either(options) = expected {
        for option in options {
            if matches_core(store, actual, option)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    Ok(match (actual, expected) {
        (Val::I32(a), WastRetCore::I32(e)) => a == e,
        (Val::I64(a), WastRetCore::I64(e)) => a == e,
        (Val::F32(a), WastRetCore::F32(p)) => f32_matches(*a, p),
        (Val::F64(a), WastRetCore::F64(p)) => f64_matches(*a, p),
        (Val::V128(a), WastRetCore::V128(p)) => v128_matches(*a, p),
        (Val::FuncRef(f), WastRetCore::RefNull(_)) => f.is_none(),
        (Val::FuncRef(f), WastRetCore::RefFunc(_)) => f.is_some(),
        (Val::ExternRef(r), WastRetCore::RefNull(_)) => r.is_none(),
        (Val::ExnRef(r), WastRetCore::RefNull(_)) => r.is_none(),
        (Val::AnyRef(r), WastRetCore::RefNull(_)) => r.is_none(),
        (Val::AnyRef(Some(r)), WastRetCore::RefI31) => r.is_i31(&*store)?,
        (Val::AnyRef(r), WastRetCore::RefAny) => r.is_some(),
        (Val::AnyRef(Some(r)), WastRetCore::RefEq) => {
            r.is_i31(&*store)? || r.is_struct(&*store)? || r.is_array(&*store)?
        }
        (Val::AnyRef(Some(r)), WastRetCore::RefStruct) => r.is_struct(&*store)?,
        (Val::AnyRef(Some(r)), WastRetCore::RefArray) => r.is_array(&*store)?,
        (Val::AnyRef(Some(r)), WastRetCore::RefHost(n)) => {
            let e = tern::ExternRef::convert_any(&mut *store, *r)?;
            e.data().downcast_ref::<u32>() == Some(n)
        }
        (Val::ExternRef(r), WastRetCore::RefExtern(expected)) => match (r, expected) {
            (Some(r), Some(n)) => r.data().downcast_ref::<u32>() == Some(n),
            (Some(_), None) => true,
            (None, _) => false,
        },
        _ => false,
    })
}
