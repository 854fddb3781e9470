fn main() {
    resocket_web::start();
}
