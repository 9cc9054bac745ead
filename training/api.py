"""Thin DRF views for training runs, eval sets and evaluation runs.

Starting a run only records it and queues it for the worker: the request never trains.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from training import selectors, services
from training import services as evaluation_services
from training.serializers import (
    EvalSetCreateInputSerializer,
    EvalSetDetailSerializer,
    EvalSetListOutputSerializer,
    EvalSetSerializer,
    EvaluationCreateInputSerializer,
    EvaluationListOutputSerializer,
    EvaluationRunDetailSerializer,
    EvaluationRunSerializer,
    TrainingRunCreateInputSerializer,
    TrainingRunDetailSerializer,
    TrainingRunListOutputSerializer,
    TrainingRunListQuerySerializer,
    TrainingRunSerializer,
)
from tunix_rt.pagination import PageQuerySerializer, page_response
from tunix_rt.roles import CURATOR, TRAINER

INVALID = OpenApiResponse(description="Invalid input: field errors.")


class TrainingRunViewSet(viewsets.ViewSet):
    lookup_field = "run_id"
    write_role = TRAINER
    lookup_value_regex = "[^/]+"

    @extend_schema(
        parameters=[TrainingRunListQuerySerializer],
        responses={200: TrainingRunListOutputSerializer},
        summary="Training runs, newest first",
        description="Every SFT, GRPO and DPO run, newest first; `status` narrows them.",
    )
    def list(self, request: Request) -> Response:
        query = TrainingRunListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        runs = selectors.training_run_list(status=query.validated_data.get("status"))
        return page_response(runs, request.query_params, TrainingRunSerializer)

    @extend_schema(
        request=TrainingRunCreateInputSerializer,
        responses={202: TrainingRunSerializer, 404: OpenApiResponse(description="No such dataset.")},
        summary="Queue an SFT run on a dataset, or a GRPO/DPO run from a run's weights; the worker trains it",
        description=(
            "Answers 202 with the pending run; the background worker (`manage.py db_worker`) trains it. "
            "Give a `preset` or an inline `config`; unknown config keys are refused."
        ),
    )
    def create(self, request: Request) -> Response:
        incoming = TrainingRunCreateInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        kind = data.pop("kind")
        if kind == "sft":
            data.pop("from_run", None)
            data.pop("preferences", None)
            run = services.training_run_enqueue(**data, actor=request.user)
        else:
            run = services.rl_run_enqueue(kind=kind, **data, actor=request.user)
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={200: TrainingRunDetailSerializer},
        summary="One run with its metrics",
        description="The run's manifest fields, status and per-step metrics (loss, eval loss).",
    )
    def retrieve(self, request: Request, run_id: str) -> Response:
        run = selectors.training_run_get(run_id=run_id)
        run.metric_rows = list(selectors.training_run_metrics(run=run))  # type: ignore[attr-defined]
        return Response(TrainingRunDetailSerializer(run).data)

    @extend_schema(
        request=None,
        responses={200: TrainingRunSerializer, 400: INVALID},
        summary="Cancel a pending or running training run",
        description="Answers the cancelled run; a run that has already finished is a 400 and stays as it was.",
    )
    @action(detail=True, methods=["post"], url_path="cancel")
    def cancel(self, request: Request, run_id: str) -> Response:
        run = services.training_run_cancel(run=selectors.training_run_get(run_id=run_id), actor=request.user)
        return Response(TrainingRunSerializer(run).data)


class EvalSetViewSet(viewsets.ViewSet):
    lookup_field = "name"
    write_role = CURATOR
    lookup_value_regex = "[A-Za-z0-9._-]+"

    @property
    def max_body_bytes(self) -> int:
        return int(settings.TRACE_BATCH_MAX_BYTES)

    @extend_schema(
        parameters=[PageQuerySerializer],
        responses={200: EvalSetListOutputSerializer},
        summary="Eval sets, newest first",
        description="Named, immutable sets of evaluation items.",
    )
    def list(self, request: Request) -> Response:
        return page_response(selectors.eval_set_list(), request.query_params, EvalSetSerializer)

    @extend_schema(
        request=EvalSetCreateInputSerializer,
        responses={201: EvalSetSerializer, 409: OpenApiResponse(description="An eval set with this name exists.")},
        summary="Create an eval set from items in the JSONL line format, or from a dataset split",
        description=(
            "Give `items`, or `from_dataset` and `split` to draw them from a dataset split. Eval sets are "
            "immutable: a name in use is a 409."
        ),
    )
    def create(self, request: Request) -> Response:
        incoming = EvalSetCreateInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        if "from_dataset" in data:
            eval_set = evaluation_services.eval_set_from_split(
                name=data["name"],
                dataset_key=data["from_dataset"],
                split=data["split"],
                description=data["description"],
                actor=request.user,
            )
        else:
            eval_set = evaluation_services.eval_set_import(
                name=data["name"], items=data["items"], description=data["description"], actor=request.user
            )
        return Response(EvalSetSerializer(eval_set).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={200: EvalSetDetailSerializer},
        summary="One eval set with its items",
        description="The set with every item: prompt, expected answer, category and difficulty.",
    )
    def retrieve(self, request: Request, name: str) -> Response:
        eval_set = selectors.eval_set_get(name=name)
        eval_set.item_rows = list(selectors.eval_set_items(eval_set=eval_set))  # type: ignore[attr-defined]
        return Response(EvalSetDetailSerializer(eval_set).data)


class EvaluationRunViewSet(viewsets.ViewSet):
    lookup_field = "evaluation_id"
    write_role = TRAINER
    lookup_value_regex = "[^/]+"

    @extend_schema(
        parameters=[PageQuerySerializer],
        responses={200: EvaluationListOutputSerializer},
        summary="Evaluations, newest first",
        description="Every evaluation of a run's checkpoint on an eval set, newest first.",
    )
    def list(self, request: Request) -> Response:
        return page_response(selectors.evaluation_list(), request.query_params, EvaluationRunSerializer)

    @extend_schema(
        request=EvaluationCreateInputSerializer,
        responses={202: EvaluationRunSerializer, 404: OpenApiResponse(description="No such training run or eval set.")},
        summary="Queue an evaluation of a run's checkpoint on an eval set",
        description="Answers 202 with the pending evaluation; the background worker generates and scores it.",
    )
    def create(self, request: Request) -> Response:
        incoming = EvaluationCreateInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        evaluation = evaluation_services.evaluation_enqueue(
            training_run=selectors.training_run_get(run_id=incoming.validated_data["training_run_id"]),
            eval_set=selectors.eval_set_get(name=incoming.validated_data["eval_set"]),
            actor=request.user,
            **{name: incoming.validated_data[name] for name in evaluation_services.EVALUATION_OPTIONS},
        )
        return Response(EvaluationRunSerializer(evaluation).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={200: EvaluationRunDetailSerializer},
        summary="One evaluation, per example",
        description="Accuracy and format compliance overall and per category, with every example's result.",
    )
    def retrieve(self, request: Request, evaluation_id: str) -> Response:
        evaluation = selectors.evaluation_get(evaluation_id=evaluation_id)
        evaluation.result_rows = list(selectors.evaluation_results(evaluation=evaluation))  # type: ignore[attr-defined]
        return Response(EvaluationRunDetailSerializer(evaluation).data)

    @extend_schema(
        request=None,
        responses={200: EvaluationRunSerializer, 400: INVALID},
        summary="Cancel a pending or running evaluation",
        description="Answers the cancelled evaluation; one that has already finished is a 400 and stays as it was.",
    )
    @action(detail=True, methods=["post"], url_path="cancel")
    def cancel(self, request: Request, evaluation_id: str) -> Response:
        evaluation = evaluation_services.evaluation_cancel(
            evaluation=selectors.evaluation_get(evaluation_id=evaluation_id), actor=request.user
        )
        return Response(EvaluationRunSerializer(evaluation).data)
