# data sources (IDX reader, datasets, loaders) are added here.
