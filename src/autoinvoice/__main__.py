from autoinvoice.entrypoints.cli import main

main()
