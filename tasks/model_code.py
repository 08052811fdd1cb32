"""MLflow "models from code" entry: logged with each model, executed when the model is loaded.

Using a code file instead of a pickled object means loading a model never unpickles code.
"""

import mlflow
from tasks.pyfunc import RatingPredictor

mlflow.models.set_model(RatingPredictor())
