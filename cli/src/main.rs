//! `mqscope`: the command-line front end.
fn main() {
    println!("mqscope: not yet built");
}
