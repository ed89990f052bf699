//! GC heap objects, phase 2 (see `docs/design/gc.md` §3): `struct.*` and
//! `array.*` operators, on objects laid out by `tern_environ`'s `gc_layout`.
//!
//! An object reference is its 32-bit offset in the store's GC heap, held
//! zero-extended in an `i64`; its address is `gc_heap_base + offset`, with
//! the base read from the store's `VMRuntimeLimits` (one more load than a
//! vmctx field, but the limits are per store as the heap is, so no instance
//! needs a copy). Allocation bumps `gc_next` inline and calls the `gc_alloc`
//! libcall only when `gc_limit` is passed. The bytes between `gc_next` and
//! `gc_limit` are always zero (fresh pages; phase 3's collector must keep
//! that promise), so `new_default` writes only the header.
//!
//! The bulk operators that read segments (`array.new_data`, `new_elem`,
//! `init_data`, `init_elem`) and `array.copy` are libcalls; `array.new` and
//! `array.fill` store in an inline loop.

use super::FuncState;
use crate::signature::ir_type;
use anyhow::Result;
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, MemFlagsData, Value};
use tern_environ::{
    gc_array_layout, gc_struct_layout, Builtin, GcArrayLayout, GcKind, TrapKind, WasmArrayType,
    WasmCompositeType, WasmHeapType, WasmStorageType, WasmStructType, WasmValType, GC_ARRAY_LENGTH,
    GC_HEADER_KIND, GC_HEADER_TYPE_ID, VMLIMITS_GC_HEAP_BASE, VMLIMITS_GC_LIMIT, VMLIMITS_GC_NEXT,
};
use wasmparser::Operator;

/// Memory flags for accesses to GC objects: never out of the heap's
/// accessible part (every reference compiled code holds is a live object),
/// but not aligned (a `v128` field is only 8-aligned).
fn heap_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Whether values of `ty` are stored as 32-bit `anyref` words.
fn is_any_ref(ty: WasmStorageType) -> bool {
    matches!(ty, WasmStorageType::Val(WasmValType::Ref(r)) if r.heap.top() == WasmHeapType::Any)
}

impl FuncState<'_, '_> {
    /// Translates the `struct.*`/`array.*` operators.
    pub(crate) fn translate_gc_object(&mut self, op: &Operator<'_>) -> Result<()> {
        match *op {
            Operator::StructNew { struct_type_index } => {
                let ty = self.struct_type(struct_type_index);
                let layout = gc_struct_layout(&ty);
                let values = self.popn(ty.fields.len());
                let obj = self.alloc_const(struct_type_index, layout.size, GcKind::Struct);
                for ((field, offset), v) in ty.fields.iter().zip(&layout.fields).zip(values) {
                    self.store_field(field.element, obj, *offset, v);
                }
                self.push(obj);
            }
            Operator::StructNewDefault { struct_type_index } => {
                let ty = self.struct_type(struct_type_index);
                let layout = gc_struct_layout(&ty);
                let obj = self.alloc_const(struct_type_index, layout.size, GcKind::Struct);
                self.push(obj);
            }
            Operator::StructGet {
                struct_type_index,
                field_index,
            }
            | Operator::StructGetS {
                struct_type_index,
                field_index,
            }
            | Operator::StructGetU {
                struct_type_index,
                field_index,
            } => {
                let ty = self.struct_type(struct_type_index);
                let offset = gc_struct_layout(&ty).fields[field_index as usize];
                let obj = self.pop();
                self.null_check(obj, TrapKind::NullStructReference);
                let signed = matches!(op, Operator::StructGetS { .. });
                let v =
                    self.load_field(ty.fields[field_index as usize].element, obj, offset, signed);
                self.push(v);
            }
            Operator::StructSet {
                struct_type_index,
                field_index,
            } => {
                let ty = self.struct_type(struct_type_index);
                let offset = gc_struct_layout(&ty).fields[field_index as usize];
                let (obj, v) = self.pop2();
                self.null_check(obj, TrapKind::NullStructReference);
                self.store_field(ty.fields[field_index as usize].element, obj, offset, v);
            }
            Operator::ArrayNew { array_type_index } => {
                let (v, len) = self.pop2();
                let (ty, layout) = self.array_type(array_type_index);
                let obj = self.alloc_array(array_type_index, layout, len);
                let zero = self.builder.ins().iconst(types::I32, 0);
                self.fill_loop(ty.0.element, layout, obj, zero, len, v);
                self.push(obj);
            }
            Operator::ArrayNewDefault { array_type_index } => {
                let len = self.pop();
                let (_, layout) = self.array_type(array_type_index);
                let obj = self.alloc_array(array_type_index, layout, len);
                self.push(obj);
            }
            Operator::ArrayNewFixed {
                array_type_index,
                array_size,
            } => {
                let values = self.popn(array_size as usize);
                let (ty, layout) = self.array_type(array_type_index);
                let len = self.builder.ins().iconst(types::I32, i64::from(array_size));
                let obj = self.alloc_array(array_type_index, layout, len);
                for (i, v) in values.into_iter().enumerate() {
                    let offset = layout.elems_offset + i as u32 * layout.elem_size;
                    self.store_field(ty.0.element, obj, offset, v);
                }
                self.push(obj);
            }
            Operator::ArrayNewData {
                array_type_index,
                array_data_index: segment,
            }
            | Operator::ArrayNewElem {
                array_type_index,
                array_elem_index: segment,
            } => {
                let (src, len) = self.pop2();
                let (_, layout) = self.array_type(array_type_index);
                let (builtin, oob) = if matches!(op, Operator::ArrayNewData { .. }) {
                    (Builtin::ArrayNewData, TrapKind::MemoryOutOfBounds)
                } else {
                    (Builtin::ArrayNewElem, TrapKind::TableOutOfBounds)
                };
                let type_id = self.type_id_value(array_type_index);
                let elem_size = self
                    .builder
                    .ins()
                    .iconst(types::I32, i64::from(layout.elem_size));
                let segment = self.builder.ins().iconst(types::I32, i64::from(segment));
                let obj = self.call_builtin(builtin, &[type_id, elem_size, segment, src, len])[0];
                let is_oob = self.builder.ins().icmp_imm_u(IntCC::Equal, obj, 0);
                self.trap_if(is_oob, oob);
                let is_full = self.builder.ins().icmp_imm_u(IntCC::Equal, obj, 1);
                self.trap_if(is_full, TrapKind::GcHeapOutOfMemory);
                self.push(obj);
            }
            Operator::ArrayGet { array_type_index }
            | Operator::ArrayGetS { array_type_index }
            | Operator::ArrayGetU { array_type_index } => {
                let (obj, index) = self.pop2();
                let (ty, layout) = self.array_type(array_type_index);
                let addr = self.element_address(obj, index, layout);
                let signed = matches!(op, Operator::ArrayGetS { .. });
                let v = self.load_at(ty.0.element, addr, 0, signed);
                self.push(v);
            }
            Operator::ArraySet { array_type_index } => {
                let v = self.pop();
                let (obj, index) = self.pop2();
                let (ty, layout) = self.array_type(array_type_index);
                let addr = self.element_address(obj, index, layout);
                self.store_at(ty.0.element, addr, 0, v);
            }
            Operator::ArrayLen => {
                let obj = self.pop();
                self.null_check(obj, TrapKind::NullArrayReference);
                let len = self.array_len(obj);
                self.push(len);
            }
            Operator::ArrayFill { array_type_index } => {
                let n = self.pop();
                let v = self.pop();
                let (obj, start) = self.pop2();
                let (ty, layout) = self.array_type(array_type_index);
                self.null_check(obj, TrapKind::NullArrayReference);
                self.range_check(obj, start, n);
                self.fill_loop(ty.0.element, layout, obj, start, n, v);
            }
            Operator::ArrayCopy {
                array_type_index_dst,
                ..
            } => {
                let n = self.pop();
                let (src, src_index) = self.pop2();
                let (dst, dst_index) = self.pop2();
                let (_, layout) = self.array_type(array_type_index_dst);
                self.null_check(dst, TrapKind::NullArrayReference);
                self.null_check(src, TrapKind::NullArrayReference);
                let elem_size = self
                    .builder
                    .ins()
                    .iconst(types::I32, i64::from(layout.elem_size));
                let status = self.call_builtin(
                    Builtin::ArrayCopy,
                    &[dst, dst_index, src, src_index, n, elem_size],
                )[0];
                self.trap_if(status, TrapKind::ArrayOutOfBounds);
            }
            Operator::ArrayInitData {
                array_type_index,
                array_data_index: segment,
            }
            | Operator::ArrayInitElem {
                array_type_index,
                array_elem_index: segment,
            } => {
                let n = self.pop();
                let src = self.pop();
                let (obj, dst) = self.pop2();
                let (_, layout) = self.array_type(array_type_index);
                self.null_check(obj, TrapKind::NullArrayReference);
                let (builtin, oob) = if matches!(op, Operator::ArrayInitData { .. }) {
                    (Builtin::ArrayInitData, TrapKind::MemoryOutOfBounds)
                } else {
                    (Builtin::ArrayInitElem, TrapKind::TableOutOfBounds)
                };
                let elem_size = self
                    .builder
                    .ins()
                    .iconst(types::I32, i64::from(layout.elem_size));
                let segment = self.builder.ins().iconst(types::I32, i64::from(segment));
                let status = self.call_builtin(builtin, &[obj, elem_size, dst, segment, src, n])[0];
                let array_oob = self.builder.ins().icmp_imm_u(IntCC::Equal, status, 1);
                self.trap_if(array_oob, TrapKind::ArrayOutOfBounds);
                let segment_oob = self.builder.ins().icmp_imm_u(IntCC::Equal, status, 2);
                self.trap_if(segment_oob, oob);
            }
            _ => unreachable!("dispatch routes only struct and array operators here"),
        }
        Ok(())
    }

    /// The struct type at module type index `index` (validated to be one).
    fn struct_type(&self, index: u32) -> WasmStructType {
        match &self.module.types[index as usize].composite {
            WasmCompositeType::Struct(s) => s.clone(),
            _ => unreachable!("validation guarantees a struct type"),
        }
    }

    /// The array type at module type index `index` and its layout.
    fn array_type(&self, index: u32) -> (WasmArrayType, GcArrayLayout) {
        match &self.module.types[index as usize].composite {
            WasmCompositeType::Array(a) => (*a, gc_array_layout(a)),
            _ => unreachable!("validation guarantees an array type"),
        }
    }

    /// The engine type id of module type `index`, from the vmctx.
    pub(crate) fn type_id_value(&mut self, index: u32) -> Value {
        let vmctx = self.vmctx();
        self.builder.ins().load(
            types::I32,
            Self::readonly_flags(),
            vmctx,
            self.offsets.type_id(index) as i32,
        )
    }

    /// The address of the object at heap offset `obj` (an `i64`). The base is
    /// reloaded each time: it is null until the heap exists, which a libcall
    /// may change.
    pub(crate) fn object_address(&mut self, obj: Value) -> Value {
        let limits = self.limits_ptr();
        let base = self.builder.ins().load(
            types::I64,
            Self::trusted_flags(),
            limits,
            VMLIMITS_GC_HEAP_BASE as i32,
        );
        self.builder.ins().iadd(base, obj)
    }

    /// Traps with `kind` if reference `r` is null.
    fn null_check(&mut self, r: Value, kind: TrapKind) {
        let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 0);
        self.trap_if(is_null, kind);
    }

    /// Allocates `size` zeroed bytes (an `i64` value, at most `GC_HEAP_MAX`)
    /// and writes the header of an object of module type `type_index` and
    /// `kind`; the new object's reference.
    pub(crate) fn alloc_object(&mut self, type_id: Value, size: Value, kind: GcKind) -> Value {
        let limits = self.limits_ptr();
        let flags = Self::trusted_flags();
        let next = self
            .builder
            .ins()
            .load(types::I64, flags, limits, VMLIMITS_GC_NEXT as i32);
        let limit = self
            .builder
            .ins()
            .load(types::I64, flags, limits, VMLIMITS_GC_LIMIT as i32);
        let end = self.builder.ins().iadd(next, size);
        let fits = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, end, limit);
        let fast = self.builder.create_block();
        let slow = self.builder.create_block();
        let done = self.builder.create_block();
        let obj = self.builder.append_block_param(done, types::I64);
        self.builder.ins().brif(fits, fast, &[], slow, &[]);
        self.builder.seal_block(fast);
        self.builder.seal_block(slow);

        self.builder.switch_to_block(fast);
        self.builder
            .ins()
            .store(flags, end, limits, VMLIMITS_GC_NEXT as i32);
        self.builder.ins().jump(done, &[next.into()]);

        self.builder.switch_to_block(slow);
        let got = self.call_builtin(Builtin::GcAlloc, &[size])[0];
        let full = self.builder.ins().icmp_imm_u(IntCC::Equal, got, 0);
        self.trap_if(full, TrapKind::GcHeapOutOfMemory);
        self.builder.ins().jump(done, &[got.into()]);

        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
        let addr = self.object_address(obj);
        let kind = self.builder.ins().iconst(types::I32, kind as i64);
        self.builder
            .ins()
            .store(heap_flags(), type_id, addr, GC_HEADER_TYPE_ID as i32);
        self.builder
            .ins()
            .store(heap_flags(), kind, addr, GC_HEADER_KIND as i32);
        obj
    }

    /// Allocates an object of module type `index` whose size is known.
    fn alloc_const(&mut self, index: u32, size: u32, kind: GcKind) -> Value {
        let type_id = self.type_id_value(index);
        let size = self.builder.ins().iconst(types::I64, i64::from(size));
        self.alloc_object(type_id, size, kind)
    }

    /// Allocates an array of module type `index` with `len` (an `i32`)
    /// zeroed elements and sets its length; traps when it cannot fit.
    fn alloc_array(&mut self, index: u32, layout: GcArrayLayout, len: Value) -> Value {
        let len64 = self.builder.ins().uextend(types::I64, len);
        let bytes = self
            .builder
            .ins()
            .imul_imm_u(len64, i64::from(layout.elem_size));
        let bytes = self
            .builder
            .ins()
            .iadd_imm_u(bytes, i64::from(layout.elems_offset) + 7);
        let size = self.builder.ins().band_imm_u(bytes, !7i64);
        // At most 16 * 2^32 + 23 bytes, so no overflow; anything the heap
        // cannot hold is out of memory before the bump pointer sees it.
        let too_big = self.builder.ins().icmp_imm_u(
            IntCC::UnsignedGreaterThanOrEqual,
            size,
            tern_environ::GC_HEAP_MAX as i64,
        );
        self.trap_if(too_big, TrapKind::GcHeapOutOfMemory);
        let type_id = self.type_id_value(index);
        let obj = self.alloc_object(type_id, size, GcKind::Array);
        let addr = self.object_address(obj);
        self.builder
            .ins()
            .store(heap_flags(), len, addr, GC_ARRAY_LENGTH as i32);
        obj
    }

    /// The length (`i32`) of the non-null array `obj`.
    fn array_len(&mut self, obj: Value) -> Value {
        let addr = self.object_address(obj);
        self.builder
            .ins()
            .load(types::I32, heap_flags(), addr, GC_ARRAY_LENGTH as i32)
    }

    /// Traps unless `[start, start + n)` (`i32`s) lies in non-null array `obj`.
    fn range_check(&mut self, obj: Value, start: Value, n: Value) {
        let len = self.array_len(obj);
        let len = self.builder.ins().uextend(types::I64, len);
        let start = self.builder.ins().uextend(types::I64, start);
        let n = self.builder.ins().uextend(types::I64, n);
        let end = self.builder.ins().iadd(start, n);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, end, len);
        self.trap_if(oob, TrapKind::ArrayOutOfBounds);
    }

    /// The address of element `index` of `obj`, after the null and bounds checks.
    fn element_address(&mut self, obj: Value, index: Value, layout: GcArrayLayout) -> Value {
        self.null_check(obj, TrapKind::NullArrayReference);
        let len = self.array_len(obj);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.trap_if(oob, TrapKind::ArrayOutOfBounds);
        let addr = self.object_address(obj);
        let index = self.builder.ins().uextend(types::I64, index);
        let scaled = self
            .builder
            .ins()
            .imul_imm_u(index, i64::from(layout.elem_size));
        let at = self.builder.ins().iadd(addr, scaled);
        self.builder
            .ins()
            .iadd_imm_u(at, i64::from(layout.elems_offset))
    }

    /// Stores `v` into elements `[start, start + n)` of `obj` (in bounds).
    fn fill_loop(
        &mut self,
        element: WasmStorageType,
        layout: GcArrayLayout,
        obj: Value,
        start: Value,
        n: Value,
        v: Value,
    ) {
        let addr = self.object_address(obj);
        let start = self.builder.ins().uextend(types::I64, start);
        let n = self.builder.ins().uextend(types::I64, n);
        let size = i64::from(layout.elem_size);
        let first = self.builder.ins().imul_imm_u(start, size);
        let first = self.builder.ins().iadd(addr, first);
        let first = self
            .builder
            .ins()
            .iadd_imm_u(first, i64::from(layout.elems_offset));
        let bytes = self.builder.ins().imul_imm_u(n, size);
        let end = self.builder.ins().iadd(first, bytes);
        let header = self.builder.create_block();
        let at = self.builder.append_block_param(header, types::I64);
        let body = self.builder.create_block();
        let exit = self.builder.create_block();
        self.builder.ins().jump(header, &[first.into()]);
        self.builder.switch_to_block(header);
        let more = self.builder.ins().icmp(IntCC::UnsignedLessThan, at, end);
        self.builder.ins().brif(more, body, &[], exit, &[]);
        self.builder.seal_block(body);
        self.builder.seal_block(exit);
        self.builder.switch_to_block(body);
        self.store_at(element, at, 0, v);
        let next = self.builder.ins().iadd_imm_u(at, size);
        self.builder.ins().jump(header, &[next.into()]);
        self.builder.seal_block(header);
        self.builder.switch_to_block(exit);
    }

    /// Loads the field at `offset` of non-null object `obj`.
    fn load_field(
        &mut self,
        element: WasmStorageType,
        obj: Value,
        offset: u32,
        signed: bool,
    ) -> Value {
        let addr = self.object_address(obj);
        self.load_at(element, addr, offset, signed)
    }

    /// Stores `v` into the field at `offset` of non-null object `obj`.
    fn store_field(&mut self, element: WasmStorageType, obj: Value, offset: u32, v: Value) {
        let addr = self.object_address(obj);
        self.store_at(element, addr, offset, v);
    }

    /// Loads a value of storage type `element` at `addr + offset`.
    pub(crate) fn load_at(
        &mut self,
        element: WasmStorageType,
        addr: Value,
        offset: u32,
        signed: bool,
    ) -> Value {
        let (f, off, ins) = (heap_flags(), offset as i32, self.builder.ins());
        match element {
            WasmStorageType::I8 if signed => ins.sload8(types::I32, f, addr, off),
            WasmStorageType::I8 => ins.uload8(types::I32, f, addr, off),
            WasmStorageType::I16 if signed => ins.sload16(types::I32, f, addr, off),
            WasmStorageType::I16 => ins.uload16(types::I32, f, addr, off),
            e if is_any_ref(e) => ins.uload32(f, addr, off),
            WasmStorageType::Val(v) => ins.load(ir_type(v), f, addr, off),
        }
    }

    /// Stores `v` (of storage type `element`) at `addr + offset`.
    pub(crate) fn store_at(
        &mut self,
        element: WasmStorageType,
        addr: Value,
        offset: u32,
        v: Value,
    ) {
        let (f, off) = (heap_flags(), offset as i32);
        match element {
            WasmStorageType::I8 => {
                self.builder.ins().istore8(f, v, addr, off);
            }
            WasmStorageType::I16 => {
                self.builder.ins().istore16(f, v, addr, off);
            }
            e if is_any_ref(e) => {
                self.builder.ins().istore32(f, v, addr, off);
            }
            WasmStorageType::Val(_) => {
                self.builder.ins().store(f, v, addr, off);
            }
        }
    }
}
