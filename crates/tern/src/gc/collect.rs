//! The collector (see `docs/design/gc.md` §4): a semi-space copying
//! collector (Cheney). A collection copies every object reachable from the
//! roots from the active space (from-space) to the start of the spare one
//! (to-space), in breadth-first order, rewrites every root and every
//! reference field with the new offsets, and makes the to-space active
//! (`vm::gc_heap::GcHeap::flip`). Time is proportional to the live data; the
//! garbage is never touched.
//!
//! **Roots**, each a self-describing word (§2 and the phase-3 contract: 0
//! null, bit 63 an externalized `anyref` whose low 32 bits are an `any`
//! word, bit 62 a host `externref`, otherwise below 2^32 an `any` word: odd
//! i31, even an object offset), so no root needs a type:
//! * the reference slots of the store's wasm frames (`vm::stack_roots`,
//!   from the exact exit frame every path into a collection records, see
//!   `vm::gc_libcalls`);
//! * the globals and tables of the store (every instance's and the host's)
//!   whose type is in the `any`/`extern`/`exn` hierarchies;
//! * the passive element segments of a GC type of every instance (their
//!   items were evaluated at instantiation, and `array.new_elem` copies them);
//! * the host's handles ([`StoreOpaque::for_each_host_gc_root`]);
//! * the store's pending exception and the one in flight
//!   (`StoreOpaque::for_each_exception_root`);
//! * while a module is being instantiated, the references its constant
//!   expressions hold outside those places (`StoreOpaque::const_roots`,
//!   see `gc::const_eval`).
//!
//! **Tracing** is one function, [`Collector::object_fields`]: from an
//! object's header it gives the object's size and the offset and width of
//! each reference field, from the engine type's layout
//! (`tern_environ::gc_layout`), for the four kinds of object.
//!
//! Words that do not name an object of this heap (a host pointer word, an
//! offset past the used part, a misaligned one) are left as they are.

use crate::gc::EXTERNALIZED;
use crate::store::StoreOpaque;
use crate::{Caller, Engine, Store, StoreContextMut, ValRaw, ValType};
use std::collections::HashMap;
use std::rc::Rc;
use tern_environ::{
    gc_array_layout, gc_struct_layout, GcArrayLayout, GcKind, WasmCompositeType, WasmHeapType,
    WasmStorageType, WasmValType, GC_ARRAY_LENGTH, GC_EXTERN_PAYLOAD, GC_EXTERN_SIZE, GC_FORWARDED,
    GC_HEADER_KIND, GC_HEADER_TYPE_ID, GC_HEAP_START,
};

/// Bit 62 of a 64-bit reference word: a host `externref` (phase-3 contract).
const HOST_EXTERN: u64 = 1 << 62;

/// How a reference field is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefWidth {
    /// A 32-bit `any` word.
    Any32,
    /// A 64-bit reference word (extern or exception hierarchy).
    Word64,
    /// The 64-bit host word of an extern wrapper: not traced, recorded live.
    HostWord,
}

/// Where the reference fields of objects of one engine type are.
enum TypeShape {
    /// A struct (or another fixed layout): its size and reference fields.
    Fixed {
        size: u64,
        refs: Vec<(u32, RefWidth)>,
    },
    /// An array: its layout and how its elements are stored, if references.
    Array {
        layout: GcArrayLayout,
        elem: Option<RefWidth>,
    },
}

/// What a collection did.
#[derive(Debug, Default, Clone)]
#[allow(
    dead_code,
    reason = "read by the tests; `xref` prunes the externref map with `heap_extern_words` at merge"
)]
pub(crate) struct GcStats {
    /// Bytes in use before (from the heap start to the bump pointer).
    pub(crate) used_before: u64,
    /// Bytes in use after: the live objects.
    pub(crate) used_after: u64,
    /// Objects copied.
    pub(crate) objects: u64,
    /// The host `externref` words found in live objects (extern wrappers'
    /// payloads, 64-bit fields holding host words): with the stack, table
    /// and global roots, the externrefs that are still alive (`xref`
    /// prunes the store's map with them).
    pub(crate) heap_extern_words: Vec<u64>,
}

/// How a reference of storage type `ty` is stored, if it is one the
/// collector traces (function references are not heap objects).
fn ref_width(ty: WasmStorageType) -> Option<RefWidth> {
    match ty {
        WasmStorageType::Val(WasmValType::Ref(r)) => match r.heap.top() {
            WasmHeapType::Any => Some(RefWidth::Any32),
            WasmHeapType::Extern | WasmHeapType::Exn => Some(RefWidth::Word64),
            _ => None,
        },
        _ => None,
    }
}

/// Whether values of type `ty` (a global's, a table's elements) are
/// reference words the collector must see.
fn holds_heap_words(ty: &ValType) -> bool {
    is_gc_word_type(ty.to_wasm())
}

/// Whether values of wasm type `ty` are reference words the collector must
/// see (the `any`, `extern` and `exn` hierarchies; not numbers, not
/// function references, which are pointers).
pub(crate) fn is_gc_word_type(ty: WasmValType) -> bool {
    ref_width(WasmStorageType::Val(ty)).is_some()
}

/// Whether `any` word `a` names an object (non-null, not an i31).
fn is_object(a: u32) -> bool {
    a != 0 && a & 1 == 0
}

/// The object offset a 64-bit reference word names, if any.
fn word_object(w: u64) -> Option<u32> {
    if w & EXTERNALIZED != 0 {
        Some(w as u32).filter(|a| is_object(*a))
    } else if w & HOST_EXTERN != 0 || w >> 32 != 0 {
        None
    } else {
        Some(w as u32).filter(|a| is_object(*a))
    }
}

/// Whether 64-bit word `w` of an extern/exception field is a host word:
/// tagged with bit 62, or (before host words were tagged) any word that is
/// neither null, nor an `any` word, nor externalized.
fn is_host_word(w: u64) -> bool {
    w & EXTERNALIZED == 0 && (w & HOST_EXTERN != 0 || w >> 32 != 0)
}

fn read_u32(heap: &[u8], at: u64) -> Option<u32> {
    let at = usize::try_from(at).ok()?;
    Some(u32::from_le_bytes(heap.get(at..at + 4)?.try_into().ok()?))
}

fn read_u64(heap: &[u8], at: u64) -> Option<u64> {
    let at = usize::try_from(at).ok()?;
    Some(u64::from_le_bytes(heap.get(at..at + 8)?.try_into().ok()?))
}

fn write(heap: &mut [u8], at: u64, bytes: &[u8]) {
    let at = at as usize;
    if let Some(dst) = heap.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// One collection's state.
struct Collector<'a> {
    engine: &'a Engine,
    from: &'a mut [u8],
    to: &'a mut [u8],
    /// The end of the used part of from-space.
    from_end: u64,
    /// The to-space bump pointer.
    next: u64,
    /// Reference-field layouts by engine type id.
    shapes: HashMap<u32, Rc<TypeShape>>,
    stats: GcStats,
}

impl Collector<'_> {
    /// The shape of engine type `type_id`'s objects.
    fn shape(&mut self, type_id: u32) -> Option<Rc<TypeShape>> {
        if let Some(s) = self.shapes.get(&type_id) {
            return Some(s.clone());
        }
        let shape = match self.engine.sub_type(type_id)?.composite {
            WasmCompositeType::Struct(s) => {
                let layout = gc_struct_layout(&s);
                let refs = s
                    .fields
                    .iter()
                    .zip(&layout.fields)
                    .filter_map(|(f, at)| ref_width(f.element).map(|w| (*at, w)))
                    .collect();
                TypeShape::Fixed {
                    size: u64::from(layout.size),
                    refs,
                }
            }
            WasmCompositeType::Array(a) => TypeShape::Array {
                layout: gc_array_layout(&a),
                elem: ref_width(a.0.element),
            },
            // Only an exception object names a function type: its tag's,
            // whose parameters are its payload (`gc_exn_layout`).
            WasmCompositeType::Func(f) => {
                let layout = tern_environ::gc_exn_layout(&f.params);
                let refs = tern_environ::exn_reference_fields(&f.params)
                    .into_iter()
                    .map(|r| {
                        let width = if r.width == 4 {
                            RefWidth::Any32
                        } else {
                            RefWidth::Word64
                        };
                        (r.offset, width)
                    })
                    .collect();
                TypeShape::Fixed {
                    size: u64::from(layout.size),
                    refs,
                }
            }
        };
        let shape = Rc::new(shape);
        self.shapes.insert(type_id, shape.clone());
        Some(shape)
    }

    /// THE tracing function: the size of the object at `at` of `heap`, and
    /// (into `refs`, when given) the offset from the object's start and the
    /// width of each of its reference fields, from its header. `None` when
    /// the header names no object kind or type this collector knows.
    fn object_fields(
        &mut self,
        in_to_space: bool,
        at: u64,
        mut refs: Option<&mut Vec<(u32, RefWidth)>>,
    ) -> Option<u64> {
        let heap: &[u8] = if in_to_space { self.to } else { self.from };
        let type_id = read_u32(heap, at + u64::from(GC_HEADER_TYPE_ID))?;
        let kind = GcKind::from_word(read_u32(heap, at + u64::from(GC_HEADER_KIND))?)?;
        match kind {
            GcKind::Struct | GcKind::Array | GcKind::Exn => {
                let len = read_u32(heap, at + u64::from(GC_ARRAY_LENGTH));
                match &*self.shape(type_id)? {
                    TypeShape::Fixed { size, refs: fields } if kind != GcKind::Array => {
                        if let Some(refs) = refs.as_deref_mut() {
                            refs.extend_from_slice(fields);
                        }
                        Some(*size)
                    }
                    TypeShape::Array { layout, elem } if kind == GcKind::Array => {
                        let len = len?;
                        if let (Some(refs), Some(width)) = (refs.as_deref_mut(), elem) {
                            refs.extend(
                                (0..len)
                                    .map(|i| (layout.elems_offset + i * layout.elem_size, *width)),
                            );
                        }
                        layout.size(len)
                    }
                    _ => None,
                }
            }
            GcKind::Extern => {
                if let Some(refs) = refs {
                    refs.push((GC_EXTERN_PAYLOAD, RefWidth::HostWord));
                }
                Some(u64::from(GC_EXTERN_SIZE))
            }
        }
    }

    /// The new reference of the object `any` word `a` names, copying it on
    /// first sight; other words unchanged.
    fn forward(&mut self, a: u32) -> u32 {
        let at = u64::from(a);
        if !is_object(a) || at < GC_HEAP_START || at % 8 != 0 || at + 8 > self.from_end {
            return a;
        }
        let Some(kind) = read_u32(self.from, at + u64::from(GC_HEADER_KIND)) else {
            return a;
        };
        if kind & GC_FORWARDED != 0 {
            return read_u32(self.from, at + u64::from(GC_HEADER_TYPE_ID)).unwrap_or(a);
        }
        let Some(size) = self.object_fields(false, at, None) else {
            return a;
        };
        let new = self.next;
        let (src, dst) = (at as usize, new as usize);
        let (Some(obj), Some(out)) = (
            self.from.get(src..src + size as usize),
            self.to.get_mut(dst..dst + size as usize),
        ) else {
            return a;
        };
        out.copy_from_slice(obj);
        self.next += size;
        self.stats.objects += 1;
        write(
            self.from,
            at + u64::from(GC_HEADER_TYPE_ID),
            &(new as u32).to_le_bytes(),
        );
        write(
            self.from,
            at + u64::from(GC_HEADER_KIND),
            &(kind | GC_FORWARDED).to_le_bytes(),
        );
        new as u32
    }

    /// [`Self::forward`] for a 64-bit reference word, keeping its tag bits.
    fn forward_word(&mut self, w: u64) -> u64 {
        match word_object(w) {
            Some(a) => (w & !0xffff_ffff) | u64::from(self.forward(a)),
            None => w,
        }
    }

    /// Copies everything reachable from the objects copied so far (Cheney's
    /// scan over the to-space).
    fn scan(&mut self) {
        let mut refs = Vec::new();
        let mut scan = GC_HEAP_START;
        while scan < self.next {
            refs.clear();
            let size = self
                .object_fields(true, scan, Some(&mut refs))
                .expect("the collector copied only objects it knows the layout of");
            for &(offset, width) in &refs {
                let field = scan + u64::from(offset);
                match width {
                    RefWidth::Any32 => {
                        let a = read_u32(self.to, field).unwrap_or(0);
                        let new = self.forward(a);
                        if new != a {
                            write(self.to, field, &new.to_le_bytes());
                        }
                    }
                    RefWidth::Word64 | RefWidth::HostWord => {
                        let w = read_u64(self.to, field).unwrap_or(0);
                        if width == RefWidth::HostWord || is_host_word(w) {
                            if w != 0 {
                                self.stats.heap_extern_words.push(w);
                            }
                            continue;
                        }
                        let new = self.forward_word(w);
                        if new != w {
                            write(self.to, field, &new.to_le_bytes());
                        }
                    }
                }
            }
            scan += size;
        }
    }
}

impl StoreOpaque {
    /// Runs a collection now (see the module note). Must only be called
    /// where a collection may run (the safepoint rule of `vm::gc_libcalls`):
    /// from the host, from a host function, or from a recording libcall.
    /// Does nothing when there is no heap yet; when the OS refuses the
    /// to-space, nothing moves and `None` is returned.
    pub(crate) fn gc_collect(&mut self) -> Option<GcStats> {
        let mut heap = std::mem::take(&mut self.gc_heap);
        let from_end = self.limits.gc_next().max(GC_HEAP_START);
        let stats = match heap.spaces_for_collection() {
            Ok(Some((from, to))) => {
                let mut c = Collector {
                    engine: &self.engine.clone(),
                    from,
                    to,
                    from_end,
                    next: GC_HEAP_START,
                    shapes: HashMap::new(),
                    stats: GcStats {
                        used_before: from_end - GC_HEAP_START,
                        ..GcStats::default()
                    },
                };
                self.visit_roots(&mut c);
                c.scan();
                let next = c.next;
                let mut stats = c.stats;
                stats.used_after = next - GC_HEAP_START;
                heap.flip(&self.limits, next);
                Some(stats)
            }
            Ok(None) | Err(_) => None,
        };
        self.gc_heap = heap;
        stats
    }

    /// Forwards every root (see the module note).
    fn visit_roots(&mut self, c: &mut Collector<'_>) {
        self.for_each_host_gc_root(&mut |a| *a = c.forward(*a));
        crate::vm::stack_roots::for_each_store_stack_root(&self.limits, |slot| {
            *slot = c.forward_word(*slot);
        });
        for g in &self.globals {
            if holds_heap_words(g.ty.content()) {
                let w = g.ptr.get().get_u64();
                let new = c.forward_word(w);
                if new != w {
                    g.ptr.set(ValRaw::u64(new));
                }
            }
        }
        for t in &mut self.tables {
            if holds_heap_words(&t.ty.element()) {
                for e in t.table.elements_mut() {
                    *e = c.forward_word(*e as u64) as usize;
                }
            }
        }
        for w in &mut self.const_roots {
            *w = c.forward_word(*w);
        }
        for instance in &mut self.instances {
            let module = instance.module.clone();
            let env = &module.inner.env;
            for (segment, words) in env.elems.iter().zip(instance.vm.elem_segments_mut()) {
                if is_gc_word_type(WasmValType::Ref(segment.ty)) {
                    for w in words.iter_mut() {
                        *w = c.forward_word(*w as u64) as usize;
                    }
                }
            }
        }
        self.for_each_exception_root(&mut |a| *a = c.forward(*a));
    }
}

impl<T> Store<T> {
    /// Collects the store's garbage now: every GC object (struct, array,
    /// `anyref`-wrapped `externref`) that no root reaches is freed, and the
    /// live ones move (host handles keep naming them). Collections also run
    /// by themselves when an allocation finds the heap full, so calling this
    /// is never needed for correctness. (wasmtime 12's shape; later wasmtime
    /// adds an argument saying why.)
    pub fn gc(&mut self) {
        self.inner.opaque.gc();
    }
}

impl<T> StoreContextMut<'_, T> {
    /// [`Store::gc`] through a context.
    pub fn gc(&mut self) {
        self.0.opaque.gc();
    }
}

impl<T> Caller<'_, T> {
    /// [`Store::gc`] from a host function: the calling wasm frames' references
    /// are roots too, and are updated when their objects move.
    pub fn gc(&mut self) {
        self.store.opaque.gc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_name_objects_by_the_contract() {
        assert_eq!(word_object(0), None);
        assert_eq!(word_object(3), None, "i31");
        assert_eq!(word_object(16), Some(16));
        assert_eq!(word_object(EXTERNALIZED | 24), Some(24));
        assert_eq!(word_object(EXTERNALIZED | 5), None, "externalized i31");
        assert_eq!(word_object(HOST_EXTERN | 32), None, "host word");
        assert_eq!(word_object(0x5555_0000_0010), None, "untagged host pointer");
        assert!(is_host_word(HOST_EXTERN | 32));
        assert!(!is_host_word(EXTERNALIZED | 24));
        assert!(!is_host_word(16));
    }

    /// Collections do run from inside allocations deep in a recursion (so
    /// the public tests that check every frame's reference afterwards test
    /// the walk from a libcall's recorded exit), and the heap's live part
    /// after a collection is only what is reachable.
    #[test]
    fn allocation_collects_and_keeps_only_the_reachable() {
        let mut config = crate::Config::new();
        config.wasm_gc(true);
        let engine = Engine::new(&config).unwrap();
        let module = crate::Module::new(
            &engine,
            r#"(module
              (type $n (struct (field (ref null $n)) (field i64)))
              (global $keep (mut (ref null $n)) (ref.null $n))
              (func $rec (export "rec") (param $d i32) (result i64)
                (local $mine (ref null $n)) (local $i i32)
                (local.set $mine (struct.new $n (ref.null $n) (i64.extend_i32_u (local.get $d))))
                (local.set $i (i32.const 200))
                (loop $l
                  (drop (struct.new $n (local.get $mine) (i64.const 0)))
                  (br_if $l (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
                (if (result i64) (i32.eqz (local.get $d))
                  (then (struct.get $n 1 (local.get $mine)))
                  (else (i64.add (call $rec (i32.sub (local.get $d) (i32.const 1)))
                                 (struct.get $n 1 (local.get $mine))))))
              (func (export "keep") (param $k i32)
                (loop $l
                  (global.set $keep (struct.new $n (global.get $keep) (i64.const 1)))
                  (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let instance = crate::Instance::new(&mut store, &module, &[]).unwrap();
        let rec = instance
            .get_typed_func::<i32, i64>(&mut store, "rec")
            .unwrap();
        // 500 frames × 200 objects × 24 bytes: 2.4 MB allocated.
        assert_eq!(rec.call(&mut store, 500).unwrap(), 500 * 501 / 2);
        let during = store.inner.opaque.gc_heap.collections();
        assert!(during > 0, "no collection ran inside the recursion");
        let keep = instance
            .get_typed_func::<i32, ()>(&mut store, "keep")
            .unwrap();
        keep.call(&mut store, 1_000).unwrap();
        let before = store.inner.opaque.gc_heap.collections();
        let stats = store.inner.opaque.gc_collect().expect("a heap exists");
        // Exactly the 1,000 kept nodes (24 bytes each) survive.
        assert_eq!((stats.objects, stats.used_after), (1_000, 24_000));
        assert_eq!(store.inner.opaque.gc_heap.collections(), before + 1);
    }
}
