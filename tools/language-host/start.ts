/** The bundle's entry point (tools/build.sh build_language_host): starts the substitute host. */
import { main } from "./pulumi-language-nodejs";

main(process.argv.slice(2));
