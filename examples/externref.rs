//! Passes host references (`externref`) through wasm, tables and globals.
//! `cargo run --example externref`

use wasmtime::*;

/// Runs the example.
pub fn main() -> Result<()> {
    let mut store = Store::<()>::default();
    let module = Module::new(
        store.engine(),
        r#"(module
             (table $table (export "table") 10 externref)
             (global $global (export "global") (mut externref) (ref.null extern))
             (func (export "func") (param externref) (result externref) local.get 0))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[])?;

    println!("Creating new `externref`...");
    let externref = ExternRef::new("Hello, World!");
    assert!(externref.data().is::<&'static str>());

    println!("Touching `externref` table...");
    let table = instance.get_table(&mut store, "table").unwrap();
    table.set(&mut store, 3, Some(externref.clone()).into())?;
    let elem = table
        .get(&mut store, 3)
        .unwrap()
        .unwrap_externref()
        .unwrap();
    assert!(elem.ptr_eq(&externref));

    println!("Touching `externref` global...");
    let global = instance.get_global(&mut store, "global").unwrap();
    global.set(&mut store, Some(externref.clone()).into())?;
    let value = global.get(&mut store).unwrap_externref().unwrap();
    assert!(value.ptr_eq(&externref));

    println!("Calling `externref` func...");
    let func =
        instance.get_typed_func::<Option<ExternRef>, Option<ExternRef>>(&mut store, "func")?;
    let ret = func.call(&mut store, Some(externref.clone()))?;
    assert!(ret.unwrap().ptr_eq(&externref));
    Ok(())
}
