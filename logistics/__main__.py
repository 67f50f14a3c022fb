from logistics.entrypoints.cli import main

main()
