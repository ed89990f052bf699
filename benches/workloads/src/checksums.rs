//! Prints every workload's checksum at its test size, computed natively: the
//! reference (`expected.txt`) that Tern's run of `workloads.wasm` must give.

fn main() {
    for (name, n) in tern_workloads::TEST_SIZES {
        let sum = tern_workloads::run(name, *n).expect("a known workload");
        println!("{name} {n} {sum}");
    }
}
