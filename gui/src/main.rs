//! `mqscope-gui`: the desktop app.
fn main() {
    println!("mqscope-gui: not yet built");
}
