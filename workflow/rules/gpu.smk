# SLURM resources of the NN training jobs (torch; the only GPU-capable rules). Plain Python, included by
# common.smk and by the SLURM test fixture (tests/cluster/fixture/gpu.smk is a link to this file).
#
# The batched NN rules are generated per batch (reconstruct_nn__RUN__PROFILE__nN__STUDY), so the SLURM
# profile's set-resources cannot name them; they read the profile's GPU knobs from the environment here:
#   DEIT_SLURM_GPU=1             one GPU per NN training job (default 0: CPU only)
#   DEIT_SLURM_GPU_MODEL         e.g. a100 (sbatch --gpus=a100:1)
#   DEIT_SLURM_GPU_PARTITION     partition of those jobs (default: DEIT_SLURM_PARTITION / the cluster's)
import os


def nn_gpu_resources(env=os.environ):
    """Resources to add to an NN training rule: {"gpu": 0} or gpu=1 plus gpu_model / slurm_partition."""
    on = env.get("DEIT_SLURM_GPU", "0").strip().lower() not in ("", "0", "no", "false", "off")
    if not on:
        return {"gpu": 0}
    res = {"gpu": 1}
    if env.get("DEIT_SLURM_GPU_MODEL"):
        res["gpu_model"] = env["DEIT_SLURM_GPU_MODEL"]
    partition = env.get("DEIT_SLURM_GPU_PARTITION") or env.get("DEIT_SLURM_PARTITION")
    if partition:
        res["slurm_partition"] = partition
    return res


NN_GPU_RESOURCES = nn_gpu_resources()
