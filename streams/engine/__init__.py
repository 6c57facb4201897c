"""The live runtime on Faust: the app, its agents and tables, and the subclassed
consumer, producer and table recovery. The only package that imports faust."""
