"""Keras 3's training data: PyDataset, timeseries_dataset_from_array, and the adapters that
turn arrays, PyDatasets and generators into the batches of fit / evaluate / predict.

Imports only NumPy and the standard library, so that gru_native.utils can re-export it."""

from .adapters import (ArrayDataAdapter, DataAdapter, GeneratorDataAdapter, PyDatasetAdapter,
                       get_data_adapter)
from .py_dataset import PyDataset
from .timeseries import timeseries_dataset_from_array

__all__ = ["ArrayDataAdapter", "DataAdapter", "GeneratorDataAdapter", "PyDataset",
           "PyDatasetAdapter", "get_data_adapter", "timeseries_dataset_from_array"]
